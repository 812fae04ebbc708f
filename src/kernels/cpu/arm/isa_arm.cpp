// What this ARM CPU and kernel grant, read from the auxiliary vector (Linux hwcaps). Built with
// baseline flags: it runs before any check has passed.
#include <sys/auxv.h>

#include <asm/hwcap.h>

namespace orchard::cpu {

bool neon_dotprod_usable() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }

bool neon_i8mm_usable() { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }

}  // namespace orchard::cpu
