#!/usr/bin/env python3
"""Reference renderer for orchard's chat-template tests: renders templates with Python jinja2
set up the way Hugging Face transformers' apply_chat_template sets it up, and prints the
results as JSON so the C++ tests can compare orchard's output byte for byte.

  render_chat_templates.py --template T.jinja --conversations C.json [--bos S] [--eos S] [--now EPOCH]
      Renders every conversation ({"name", "messages", "tools"?, "add_generation_prompt"?,
      "extra"?}) with the variables apply_chat_template passes: messages, tools (None when
      absent), documents (None), add_generation_prompt, bos_token, eos_token, plus "extra".
  render_chat_templates.py --cases CASES.json [--now EPOCH]
      Renders each {"name", "template", "variables"} case with its variables.

Output: a JSON list of {"name", "output"} or {"name", "error", "raised"}; "raised" is true when
the template itself called raise_exception().
"""
import argparse
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Raised(jinja2.exceptions.TemplateError):
    """What raise_exception() throws, so its errors can be told apart from jinja2's own."""


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} tag: renders its body as a call block (its own scope).
    transformers also records where the text lands; only the rendered text matters here."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_environment(now):
    # Mirrors transformers.utils.chat_template_utils._compile_jinja_template.
    def raise_exception(message):
        raise Raised(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.fromtimestamp(now).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, variables):
    try:
        return {"output": env.from_string(source).render(**variables)}
    except Raised as e:
        return {"error": str(e.message), "raised": True}
    except Exception as e:  # any other failure: orchard must fail too
        return {"error": f"{type(e).__name__}: {e}", "raised": False}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template")
    parser.add_argument("--conversations")
    parser.add_argument("--cases")
    parser.add_argument("--bos", default="")
    parser.add_argument("--eos", default="")
    parser.add_argument("--now", type=int, default=1721995200, help="epoch seconds strftime_now() formats")
    args = parser.parse_args()
    env = make_environment(args.now)

    results = []
    if args.cases:
        with open(args.cases, encoding="utf-8") as f:
            for case in json.load(f):
                results.append({"name": case["name"], **render(env, case["template"], case.get("variables", {}))})
    elif args.template and args.conversations:
        with open(args.template, encoding="utf-8") as f:
            source = f.read()
        with open(args.conversations, encoding="utf-8") as f:
            conversations = json.load(f)
        for conv in conversations:
            variables = {
                "messages": conv["messages"],
                "tools": conv.get("tools"),
                "documents": None,
                "add_generation_prompt": conv.get("add_generation_prompt", True),
                "bos_token": args.bos,
                "eos_token": args.eos,
                **conv.get("extra", {}),
            }
            results.append({"name": conv["name"], **render(env, source, variables)})
    else:
        parser.error("give --cases, or --template and --conversations")
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
