// Stop strings: matches across token boundaries, hold-back of possible beginnings, never
// emitting the stop string, never cutting a UTF-8 character in two.
#include "generate/stop.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace orchard;

namespace {

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

// Feeds pieces one by one, returns what was emitted per piece (flushing at the end if no stop).
std::vector<std::string> run(StopStrings& stop, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(stop.feed(p));
  if (!stop.stopped()) out.push_back(stop.flush());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

}  // namespace

TEST(StopStrings, MatchSpanningThreeTokensIsNeverEmitted) {
  StopStrings stop({"<|end|>"});
  auto out = run(stop, {"Hello <|e", "nd", "|> more"});
  EXPECT_TRUE(stop.stopped());
  EXPECT_EQ(stop.matched(), "<|end|>");
  EXPECT_EQ(out[0], "Hello ");  // the possible beginning is held back
  EXPECT_EQ(out[1], "");
  EXPECT_EQ(out[2], "");
  EXPECT_EQ(stop.feed("later text"), "");
}

TEST(StopStrings, FalseStartIsReleasedWhenItStopsMatching) {
  StopStrings stop({"<|end|>"});
  EXPECT_EQ(stop.feed("a <|e"), "a ");
  EXPECT_EQ(stop.feed("x"), "<|ex");
  EXPECT_FALSE(stop.stopped());
}

TEST(StopStrings, StopInsideOneTokenCutsThere) {
  StopStrings stop({"STOP"});
  EXPECT_EQ(stop.feed("foo STOP bar"), "foo ");
  EXPECT_TRUE(stop.stopped());
}

TEST(StopStrings, EarliestOfSeveralWins) {
  StopStrings stop({"world", "lo w"});
  EXPECT_EQ(joined(run(stop, {"hel", "lo", " world"})), "hel");
  EXPECT_EQ(stop.matched(), "lo w");
}

TEST(StopStrings, FlushReturnsHeldTail) {
  StopStrings stop({"<|end|>"});
  EXPECT_EQ(stop.feed("abc<|en"), "abc");
  EXPECT_EQ(stop.flush(), "<|en");
}

TEST(StopStrings, NoStopsPassesEverythingAtOnce) {
  StopStrings stop({"", ""});
  EXPECT_EQ(stop.feed("anything"), "anything");
  EXPECT_FALSE(stop.stopped());
}

TEST(StopStrings, MultibyteStopHeldAsWholeCharacters) {
  StopStrings stop({"é!"});
  auto out = run(stop, {"caf", "é", "?"});
  EXPECT_EQ(out[0], "caf");
  EXPECT_EQ(out[1], "");  // "é" may start "é!"
  EXPECT_EQ(out[2], "é?");
  for (const auto& piece : out) EXPECT_TRUE(valid_utf8(piece)) << piece;
}

TEST(StopStrings, StopStartingMidCharacterNeverSplitsIt) {
  // A stop string beginning with the continuation byte of "é": its partial match ends inside
  // a character, so the whole character is held back instead of half of it.
  StopStrings stop({"\xA9!"});
  auto out = run(stop, {"café", "x"});
  EXPECT_EQ(out[0], "caf");
  EXPECT_EQ(out[1], "éx");
  for (const auto& piece : out) EXPECT_TRUE(valid_utf8(piece)) << piece;
}

TEST(StopStrings, EveryChunkValidUtf8WithMixedScripts) {
  StopStrings stop({"終わり", "<stop>"});
  const std::vector<std::string> pieces = {"日本", "語の", "終", "わ", "ら", "ない", "文 <st", "op>", "tail"};
  auto out = run(stop, pieces);
  for (const auto& piece : out) EXPECT_TRUE(valid_utf8(piece)) << piece;
  EXPECT_EQ(joined(out), "日本語の終わらない文 ");
  EXPECT_EQ(stop.matched(), "<stop>");
}
