#!/usr/bin/env python3
"""Debian's own checker on the package: lintian reports no error on the .deb
that scripts/package builds, and every warning it leaves is named in
docs/operating.md (where its reason is given). The package's Debian files
are checked too: a DEP-5 copyright file, a changelog whose top entry is the
package's version, a maintainer with a name and an address.

  ops_lintian_test.py --root REPO [--deb FILE]

Without --deb it runs scripts/package (build-package/), so it runs alone.
"""
import argparse
import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)
    return ok


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--deb")
    opts = ap.parse_args()
    root = Path(opts.root)
    if opts.deb:
        deb = opts.deb
    else:
        built = run(str(root / "scripts/package"), cwd=root)
        if built.returncode != 0:
            sys.exit(f"scripts/package failed ({built.returncode}):\n{built.stderr[-4000:]}")
        deb = built.stdout.split()[-1]

    # --pedantic is not used: its tags are suggestions, not problems.
    lint = run("lintian", "--info", "--display-level", ">=warning", "--tag-display-limit", "0",
               "--fail-on", "error", deb)
    print(lint.stdout, end="")
    tags = [line.split(": ", 2) for line in lint.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    errors = [line for line in lint.stdout.splitlines() if line.startswith("E: ")]
    check(not errors, f"lintian reports {len(errors)} errors:\n" + "\n".join(errors))
    check(lint.returncode == 0, f"lintian exited {lint.returncode}: {lint.stderr.strip()}")
    operating = (root / "docs/operating.md").read_text()
    for t in tags:
        if t[0] == "W":
            tag = t[2].split()[0]
            check(f"`{tag}`" in operating,
                  f"lintian warning {tag} is not explained in docs/operating.md")

    info = run("dpkg-deb", "--field", deb, "Version", "Maintainer", "Depends").stdout
    fields = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line)
    version = fields.get("Version", "")
    check(re.fullmatch(r"[^<>@]+ <[^<>@\s]+@[^<>@\s]+\.[a-z]+>", fields.get("Maintainer", "")),
          f"Maintainer is not a name and an address: {fields.get('Maintainer')!r}")
    cmake = (root / "CMakeLists.txt").read_text()
    m = re.search(r"project\(edgesense VERSION (\S+)", cmake)
    check(m and version == m.group(1), f"package version {version!r} is not project(VERSION) {m and m.group(1)}")
    with tempfile.TemporaryDirectory() as x:
        run("dpkg-deb", "-x", deb, x)
        doc = Path(x) / "usr/share/doc/edgesense"
        copyright = doc / "copyright"
        if check(copyright.exists(), "no /usr/share/doc/edgesense/copyright"):
            text = copyright.read_text()
            check(text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"),
                  "the copyright file is not DEP-5 (no Format: line first)")
            check(re.search(r"^Files: \*\nCopyright: .+\nLicense: Apache-2.0$", text, re.M),
                  "the copyright file gives no Apache-2.0 paragraph for every file")
        changelog = doc / "changelog.gz"
        if check(changelog.exists(), "no /usr/share/doc/edgesense/changelog.gz"):
            top = gzip.decompress(changelog.read_bytes()).decode().splitlines()[0]
            check(top.startswith(f"edgesense ({version}) "), f"the changelog's top entry is {top!r}, not {version}")
        check((doc / "CHANGELOG.md").exists(), "no /usr/share/doc/edgesense/CHANGELOG.md")
        binary = Path(x) / "usr/bin/edgesense"
        # Depends names the package of every library the binary links, and
        # no library package it does not link (adduser and procps are the
        # maintainer scripts' and the unit's).
        needed = re.findall(r"^\s*NEEDED\s+(\S+)$", run("objdump", "-p", str(binary)).stdout, re.M)
        check(needed, f"objdump -p {binary} lists no NEEDED library")
        depends = {d.strip().split()[0] for d in fields.get("Depends", "").split(",") if d.strip()}
        linked = set()
        for lib in needed:
            owner = run("dpkg", "-S", lib).stdout
            pkgs = {line.split(":")[0] for line in owner.splitlines()
                    if re.search(rf"/{re.escape(lib)}$", line)}
            # A library's shlibs may name a virtual package its package
            # provides (libspdlog1.10 provides libspdlog1.10-fmt9).
            for pkg in list(pkgs):
                provides = run("dpkg-query", "-W", "-f=${Provides}", pkg).stdout
                pkgs |= {p.strip().split()[0] for p in provides.split(",") if p.strip()}
            check(pkgs & depends, f"{lib} is linked, but none of its packages {sorted(pkgs)} is in Depends")
            linked |= pkgs
        for dep in sorted(depends - linked - {"adduser", "procps"}):
            check(False, f"Depends names {dep}, which the binary does not link")
        r = run(str(binary), "--version")
        check(r.stdout == f"edgesense {version}\n", f"edgesense --version says {r.stdout!r}, the package {version}")

    if failures:
        print(f"{len(failures)} problems", file=sys.stderr)
        return 1
    print(f"{deb}: no lintian errors; {len(tags)} warnings, each explained in docs/operating.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
