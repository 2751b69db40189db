#define NB_ISA nbfused_avx2
#include "fused_isa.inc"
