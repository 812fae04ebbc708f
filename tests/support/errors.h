#pragma once
// The message of the orchard::Error that `f` throws, for tests that check what an error says;
// "(no error)" when it throws none (so a missing error fails the test's message match).
#include <functional>
#include <string>

namespace orchard::test {

std::string error_of(const std::function<void()>& f);

}  // namespace orchard::test
