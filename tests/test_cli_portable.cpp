// One x86-64 binary runs on any x86-64 CPU: the ISA kernels are chosen at run time, so on an
// older CPU (emulated by qemu-x86_64 -cpu MODEL) orchard must neither die with SIGILL nor pick
// a path the CPU lacks, and must generate the same tokens as the path that CPU can run,
// forced natively with ORCHARD_ISA.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

#if defined(__x86_64__)

bool have_qemu() { return test::run_command("command -v qemu-x86_64 >/dev/null 2>&1").status == 0; }

class CliPortable : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_dir().empty()) return;
    model_ = test::temp_dir("cli_portable") / "tiny.gguf";
    const fs::path spm = test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf";
    auto r = test::run_command(test::orchard_bin().string() + " testmodel --preset tiny --dtype q8_0 --seed 3 --vocab " +
                               spm.string() + " -o " + model_.string() + " >/dev/null 2>&1");
    ASSERT_EQ(r.status, 0) << "orchard testmodel";
  }
  void SetUp() override {
    ORCHARD_REQUIRE_SHARED();
    if (!have_qemu()) GTEST_SKIP() << "qemu-x86_64 not installed (Debian package qemu-user)";
  }

  // `prefix` runs the binary (env settings and/or qemu). Output: the JSON result (stdout),
  // and with `with_stderr` the messages too (speeds and qemu's notes go to stderr).
  static test::CommandResult generate(const std::string& prefix, bool with_stderr = false) {
    return test::run_command(prefix + " " + test::orchard_bin().string() + " generate --json -t 2 --temp 0 -n 6 -p Hello -m " +
                             model_.string() + (with_stderr ? " 2>&1" : " 2>/dev/null"));
  }
  static inline fs::path model_;
};

struct OldCpu {
  const char* qemu_model;
  const char* isa;  // the best path that CPU can run
};

TEST_F(CliPortable, OlderCpusRunTheirOwnPathWithTheSameTokens) {
  for (const OldCpu cpu : {OldCpu{"Nehalem", "generic"}, OldCpu{"Haswell", "avx2"}}) {
    SCOPED_TRACE(cpu.qemu_model);
    const auto native = generate(std::string("ORCHARD_ISA=") + cpu.isa);
    ASSERT_EQ(native.status, 0) << native.out;
    const auto emulated = generate(std::string("qemu-x86_64 -cpu ") + cpu.qemu_model);
    ASSERT_EQ(emulated.status, 0) << "orchard failed on an emulated " << cpu.qemu_model << ": " << emulated.out;
    EXPECT_EQ(emulated.out, native.out);
  }
}

TEST_F(CliPortable, ForcingAnUnsupportedIsaIsAClearError) {
  const auto r = generate("ORCHARD_ISA=avx512 qemu-x86_64 -cpu Haswell", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("avx512"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("supported here"), std::string::npos) << r.out;
}

#endif

}  // namespace
}  // namespace orchard
