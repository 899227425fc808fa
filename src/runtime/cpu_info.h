// CPU features, read once; kernels pick microkernels from these at prepare time.
#ifndef EDGEOPT_SRC_RUNTIME_CPU_INFO_H_
#define EDGEOPT_SRC_RUNTIME_CPU_INFO_H_

namespace edgeopt {
namespace rt {

struct CpuInfo {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avxvnni = false;
  bool neon = false;
  bool neon_dotprod = false;
  int num_cores = 1;

  // AVX2 + FMA + F16C and the compiled-in microkernels.
  bool UseAvx2() const;
  bool UseAvx512() const;   // F + BW + VL + DQ
  bool UseAvxVnni() const;  // AVX2 + the VEX-encoded VNNI (int8 kernels when AVX-512 is absent)
  bool UseNeon() const;
};

// Detected once (thread-safe static), with EDGEOPT_CPU=scalar|avx2|avxvnni|avx512 to cap the ISA
// level (for testing every path on one machine; avx2 leaves out AVX-VNNI, avxvnni keeps it).
const CpuInfo& GetCpuInfo();
// A copy with everything off: what the scalar fallback sees.
CpuInfo ScalarCpuInfo();

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_CPU_INFO_H_
