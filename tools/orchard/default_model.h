#pragma once
// The default of every --model: orchard's own bundled model (assets/orchard-kjv/model.gguf, a
// small Llama orchard trained from scratch on the King James Bible; docs/bundled-model.md).
// $ORCHARD_DEFAULT_MODEL overrides it, else it is the copy in the source tree this binary was
// built from.
#include <string>

namespace orchard::cli {

std::string default_model_path();

}  // namespace orchard::cli
