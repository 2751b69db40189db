#define NB_ISA nbfused_avx512
#define NB_VEC_BYTES 64
#include "fused_isa.inc"
