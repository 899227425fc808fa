#include "src/runtime/cpu_info.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__aarch64__) || defined(__arm__)
#include <sys/auxv.h>
#endif

namespace edgeopt {
namespace rt {
namespace {

CpuInfo Detect() {
  CpuInfo info;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  info.avx2 = __builtin_cpu_supports("avx2");
  info.fma = __builtin_cpu_supports("fma");
  info.f16c = true;  // every AVX2 CPU has F16C
  info.avx512f = __builtin_cpu_supports("avx512f");
  info.avx512bw = __builtin_cpu_supports("avx512bw");
  info.avx512vl = __builtin_cpu_supports("avx512vl");
  info.avx512dq = __builtin_cpu_supports("avx512dq");
  info.avx512vnni = __builtin_cpu_supports("avx512vnni");
#endif
#if defined(__aarch64__)
  info.neon = true;
  const unsigned long hwcap = getauxval(AT_HWCAP);
#ifdef HWCAP_ASIMDDP
  info.neon_dotprod = (hwcap & HWCAP_ASIMDDP) != 0;
#else
  (void)hwcap;
#endif
#elif defined(__arm__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  info.neon = (hwcap & (1ul << 12)) != 0;  // HWCAP_NEON
#endif
  const unsigned n = std::thread::hardware_concurrency();
  info.num_cores = n > 0 ? static_cast<int>(n) : 1;

  const char* cap = std::getenv("EDGEOPT_CPU");
  if (cap != nullptr) {
    if (std::strcmp(cap, "scalar") == 0) {
      const int cores = info.num_cores;
      info = CpuInfo();
      info.num_cores = cores;
    } else if (std::strcmp(cap, "avx2") == 0) {
      info.avx512f = info.avx512bw = info.avx512vl = info.avx512dq = info.avx512vnni = false;
    }
  }
  return info;
}

}  // namespace

bool CpuInfo::UseAvx2() const {
#if defined(EDGEOPT_HAVE_AVX2)
  return avx2 && fma && f16c;
#else
  return false;
#endif
}

bool CpuInfo::UseAvx512() const {
#if defined(EDGEOPT_HAVE_AVX512)
  return avx512f && avx512bw && avx512vl && avx512dq && fma;
#else
  return false;
#endif
}

bool CpuInfo::UseNeon() const {
#if defined(EDGEOPT_HAVE_NEON)
  return neon;
#else
  return false;
#endif
}

const CpuInfo& GetCpuInfo() {
  static const CpuInfo info = Detect();
  return info;
}

CpuInfo ScalarCpuInfo() {
  CpuInfo info;
  info.num_cores = GetCpuInfo().num_cores;
  return info;
}

}  // namespace rt
}  // namespace edgeopt
