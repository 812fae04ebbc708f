// MLX affine group quantization (w = scale * q + bias per group), repacked at load time into
// orchard's MLX_Q*_G* block types (core/dtype.h). The codecs are being written; until then no
// MLX type is readable.
#include "quant/codecs.h"

namespace orchard::codecs {

std::span<const QuantTraits> mlx_affine_traits() { return {}; }

}  // namespace orchard::codecs
