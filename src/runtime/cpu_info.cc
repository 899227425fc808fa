#include "src/runtime/cpu_info.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#include <cstdint>
#endif
#if defined(__aarch64__) || defined(__arm__)
#include <sys/auxv.h>
#endif

namespace edgeopt {
namespace rt {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// CPUID and XGETBV directly rather than __builtin_cpu_supports, whose libgcc feature table
// (__cpu_indicator_init) cost 5.5 KB of a selective runner. As libgcc, a feature counts only when
// the OS saves its registers (XCR0): YMM for AVX2/FMA, YMM + opmask + ZMM for AVX-512.
void DetectX86(CpuInfo* info) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return;
  const bool fma = (c >> 12) & 1u;
  uint64_t xcr0 = 0;
  if ((c >> 27) & 1u) {  // OSXSAVE
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t{hi} << 32) | lo;
  }
  const bool ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM0-15 upper halves, ZMM16-31
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return;
  info->avx2 = ymm && ((b >> 5) & 1u);
  info->fma = ymm && fma;
  info->avx512f = zmm && ((b >> 16) & 1u);
  info->avx512dq = zmm && ((b >> 17) & 1u);
  info->avx512bw = zmm && ((b >> 30) & 1u);
  info->avx512vl = zmm && ((b >> 31) & 1u);
  info->avx512vnni = zmm && ((c >> 11) & 1u);
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d) == 0) return;
  info->avxvnni = ymm && ((a >> 4) & 1u);  // the VEX-encoded VNNI (leaf 7.1 EAX bit 4)
}
#endif

CpuInfo Detect() {
  CpuInfo info;
#if defined(__x86_64__) || defined(__i386__)
  DetectX86(&info);
  info.f16c = true;  // every AVX2 CPU has F16C
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
    } else if (std::strcmp(cap, "avx2") == 0 || std::strcmp(cap, "avxvnni") == 0) {
      info.avx512f = info.avx512bw = info.avx512vl = info.avx512dq = info.avx512vnni = false;
      if (std::strcmp(cap, "avx2") == 0) info.avxvnni = false;
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

bool CpuInfo::UseAvxVnni() const {
#if defined(EDGEOPT_HAVE_AVXVNNI)
  return UseAvx2() && avxvnni;
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
