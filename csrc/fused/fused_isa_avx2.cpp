#define NB_ISA nbfused_avx2
#define NB_VEC_BYTES 32
#include "fused_isa.inc"
