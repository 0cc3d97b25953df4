#!/usr/bin/env python3
"""The repository stands on its own: nothing in it reaches outside it.

* No file names the directory that sat beside the repository in the
  project's early days (the parent directory's `shared/`): a clone has no
  such neighbour, so a build, test or document that names it breaks there.
* Every relative link in the Markdown files (README, docs/, ...) points at a
  file or directory inside the repository that exists.

Files are those git tracks when the root is a git checkout (CI runs in a
fresh clone), else every file under the root outside build directories.

  self_contained_test.py --root REPO
"""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

# Built from parts, so this file does not name what it looks for.
NEEDLE = ("..".encode() + b"/" + b"sha" + b"red")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SKIP_DIRS = {".git", "__pycache__"}


def files(root):
    git = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True)
    if git.returncode == 0 and git.stdout:
        return [root / name for name in git.stdout.decode().split("\0") if name]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build")]
        out += [Path(dirpath) / f for f in filenames]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    root = Path(ap.parse_args().root).resolve()
    problems = []
    tracked = files(root)
    for path in tracked:
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        data = path.read_bytes()
        for n, line in enumerate(data.splitlines(), 1):
            if NEEDLE in line:
                problems.append(f"{path.relative_to(root)}:{n}: names {NEEDLE.decode()}, "
                                "which a clone does not have")
        if path.suffix == ".md":
            text = data.decode("utf-8", "replace")
            for n, line in enumerate(text.splitlines(), 1):
                for target in LINK.findall(line):
                    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                        continue  # a URL, mail address or anchor
                    dest = (path.parent / target.split("#", 1)[0]).resolve()
                    if not dest.is_relative_to(root):
                        problems.append(f"{path.relative_to(root)}:{n}: link {target} leaves the repository")
                    elif not dest.exists():
                        problems.append(f"{path.relative_to(root)}:{n}: link {target} points at nothing")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(tracked)} files: none reaches outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
