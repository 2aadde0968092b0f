"""The README's Python example (its first ```python block using the API) and how to read what it
prints, for the tests that run it: inside Bazel, from a source checkout, and from the installed wheel."""
import json
import re


def python_example(readme_path):
    with open(readme_path) as f:
        text = f.read()
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        if "Classifier" in block:
            return block
    raise AssertionError("%s has no ```python block using the API" % readme_path)


def printed_top5(stdout):
    """The example prints, per image, its name then `name probability` lines, a blank line after
    each image: -> [[(name, probability rounded to 6 decimals), ...] per image]."""
    return [[(line.split()[0], round(float(line.split()[1]), 6)) for line in block.strip().splitlines()[1:]]
            for block in stdout.strip().split("\n\n")]


def records_top5(jsonl):
    """`//py:inference --json` lines -> the same form as printed_top5, at the 6 decimals the example
    prints (far inside the 0-difference the two paths really have)."""
    return [[(e["name"], round(e["probability"], 6)) for e in json.loads(line)["top"]] for line in jsonl.splitlines()]
