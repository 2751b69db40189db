#define NB_ISA nbfused_avx512
#include "fused_isa.inc"
