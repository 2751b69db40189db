#define NB_ISA nbfused_base
#define NB_VEC_BYTES 16
#include "fused_isa.inc"
