#define NB_ISA nbfused_base
#include "fused_isa.inc"
