/**
 * The Nix and shell text of the rehearsal nixpkgs. Everything here evaluates and builds with a
 * bare Nix 2.8: no nixpkgs, no network, no sandbox (the builder is the host's /bin/sh).
 *
 * Nix interpolation inside these TypeScript template literals is written `\${…}`.
 */

export const DEFAULT_NIX = `# A rehearsal nixpkgs: same layout as the real one, packages that build in seconds.
{ system ? builtins.currentSystem, ... }:

import ./pkgs/top-level/all-packages.nix { inherit system; }
`;

export const ALL_PACKAGES_NIX = `# Like nixpkgs: every pkgs/by-name/<shard>/<name>/package.nix is the attribute <name>, called
# with the packages it names as arguments. Packages outside by-name are listed at the bottom.
{ system }:

let
  stdenv = import ../stdenv { inherit system; };

  byNameDir = ../by-name;
  directoriesIn = dir:
    let entries = builtins.readDir dir;
    in builtins.filter (name: entries.\${name} == "directory") (builtins.attrNames entries);
  byNameFiles = builtins.concatMap
    (shard: map
      (name: { inherit name; path = byNameDir + "/\${shard}/\${name}/package.nix"; })
      (directoriesIn (byNameDir + "/\${shard}")))
    (directoriesIn byNameDir);

  # The scope a package file can ask for: every package, plus stdenv.
  scope = pkgs // { inherit stdenv; };
  callPackage = path: overrides:
    let f = import path;
    in f (builtins.intersectAttrs (builtins.functionArgs f) scope // overrides);

  byName = builtins.listToAttrs
    (map (p: { inherit (p) name; value = callPackage p.path { }; }) byNameFiles);

  pkgs = byName // {
    libchain = callPackage ../development/libraries/libchain { };
    sl = callPackage ../games/sl { };
  };
in
pkgs
`;

export function saltNix(salt: string): string {
  return `# Baked into every derivation so a fresh rehearsal repository really builds, even when the
# Nix store still holds the outputs of an earlier rehearsal.
"${salt}"
`;
}

export const STDENV_NIX = `# A tiny stdenv: mkDerivation runs ./builder.sh with the host's /bin/sh (the sandbox is off).
# As in nixpkgs, passthru is not part of the derivation: its attributes (tests, …) are added to
# the result, and kept together under .passthru.
{ system }:

let
  salt = import ./salt.nix;
in
{
  inherit system;

  mkDerivation =
    { pname, version, meta ? { }, passthru ? { }, ... }@attrs:
    let
      drv = derivation (builtins.removeAttrs attrs [ "meta" "passthru" ] // {
        name = "\${pname}-\${version}";
        inherit system;
        builder = "/bin/sh";
        args = [ "-e" ./builder.sh ];
        PATH = "/usr/bin:/bin";
        rehearsalSalt = salt;
      });
    in
    drv // passthru // { inherit meta passthru pname version; };
}
`;

/** Announces each phase the way nixpkgs' stdenv does, so internal-json carries setPhase results. */
export const BUILDER_SH = `# Runs the phases of nixpkgs' stdenv that matter here. A package sets a phase by passing its
# script as an attribute (buildPhase = ''…''); checkPhase runs only when doCheck is set.
set -e

runPhase() {
  phase=$1
  echo "@nix {\\"action\\":\\"setPhase\\",\\"phase\\":\\"$phase\\"}" >&2
  echo "Running phase: $phase"
  eval "script=\\\${$phase:-}"
  if [ -n "$script" ]; then
    eval "$script"
  fi
}

mkdir -p "$NIX_BUILD_TOP/source"
cd "$NIX_BUILD_TOP/source"

if [ -z "\${installPhase:-}" ]; then
  installPhase='mkdir -p "$out/share/doc/$pname" && echo "$pname $version" > "$out/share/doc/$pname/VERSION"'
fi

runPhase unpackPhase
runPhase configurePhase
runPhase buildPhase
if [ -n "\${doCheck:-}" ]; then
  runPhase checkPhase
fi
runPhase installPhase
runPhase fixupPhase

if [ ! -e "$out" ]; then
  echo "error: installPhase of $pname did not create $out" >&2
  exit 1
fi
`;

export const README_MD = `# rehearsal nixpkgs

A miniature nixpkgs for rehearsing "Maybe A Few Hydra Failures": the same layout
(\`pkgs/by-name/<shard>/<name>/package.nix\`, \`pkgs/top-level/all-packages.nix\`), packages that
build offline in seconds with a plain Nix.

    nix build --extra-experimental-features nix-command -f . hello
`;

export const GITIGNORE = `result
result-*
`;

/** What hello's passthru test prints when it passes. */
export const HELLO_TEST_PASSED = "PASS: hello greets the world";

export interface HelloOptions {
  version: string;
  runTests?: boolean;
}

export function helloNix({ version, runTests = false }: HelloOptions): string {
  const check = runTests
    ? `
    doCheck = true;
    checkPhase = ''
      ./hello | grep -q "Hello, world!"
      echo "PASS: greeting (1 of 1 tests passed)"
    '';
`
    : "";
  return `{ stdenv }:

let
  hello = stdenv.mkDerivation {
    pname = "hello";
    version = "${version}";

    buildPhase = ''
      echo "cc -O2 -o hello hello.c"
      printf '#!/bin/sh\\necho "Hello, world! (hello %s)"\\n' "$version" > hello
      chmod +x hello
    '';
${check}
    installPhase = ''
      mkdir -p $out/bin
      cp hello $out/bin/hello
    '';

    # Built by \`nix build hello.passthru.tests.greeting\` when the host asks for passthru.tests.
    passthru.tests.greeting = stdenv.mkDerivation {
      pname = "hello-test-greeting";
      version = "${version}";
      hello = hello;
      buildPhase = ''
        $hello/bin/hello | grep "Hello, world!"
        echo "${HELLO_TEST_PASSED}"
      '';
      installPhase = ''
        mkdir -p $out
        echo ok > $out/passed
      '';
    };

    meta = {
      description = "Program that produces a familiar, friendly greeting";
      homepage = "https://www.gnu.org/software/hello/";
      license = "gpl3Plus";
      mainProgram = "hello";
    };
  };
in
hello
`;
}

export function libchainCoreNix(version: string): string {
  return `{ stdenv }:

stdenv.mkDerivation {
  pname = "libchain-core";
  version = "${version}";

  buildPhase = ''
    echo "cc -fPIC -c core.c -o core.o"
    echo "libchain-core $version" > libchain-core.so
  '';

  installPhase = ''
    mkdir -p $out/lib
    cp libchain-core.so $out/lib/
  '';

  meta.description = "Core of the chain library (the bottom of a three-package dependency chain)";
}
`;
}

export const LIBCHAIN_NIX = `{ stdenv, libchain-core }:

stdenv.mkDerivation {
  pname = "libchain";
  version = "1.4";

  core = libchain-core;

  buildPhase = ''
    echo "linking against $(cat $core/lib/libchain-core.so)"
    { cat $core/lib/libchain-core.so; echo "libchain $version"; } > libchain.so
  '';

  installPhase = ''
    mkdir -p $out/lib
    cp libchain.so $out/lib/
  '';

  meta.description = "Chain library (middle of the dependency chain; defined outside by-name)";
}
`;

export const CHAIN_APP_NIX = `{ stdenv, libchain }:

stdenv.mkDerivation {
  pname = "chain-app";
  version = "0.3";

  chain = libchain;

  buildPhase = ''
    echo "linking chain-app against:"
    cat $chain/lib/libchain.so
    printf '#!/bin/sh\\ncat %s/lib/libchain.so\\n' "$chain" > chain-app
    chmod +x chain-app
  '';

  installPhase = ''
    mkdir -p $out/bin
    cp chain-app $out/bin/
  '';

  meta = {
    description = "Application at the top of the dependency chain";
    mainProgram = "chain-app";
  };
}
`;

export const BROKEN_TOOL_ERROR = "error: broken-tool.c:42: undefined reference to 'frobnicate'";

export function brokenToolNix(version: string, broken: boolean): string {
  const link = broken
    ? `    echo "cc -o broken-tool broken-tool.o util.o"
    echo "/usr/bin/ld: broken-tool.o: in function 'main':" >&2
    echo "${BROKEN_TOOL_ERROR}" >&2
    echo "collect2: error: ld returned 1 exit status" >&2
    exit 1`
    : `    echo "cc -o broken-tool broken-tool.o util.o"
    printf '#!/bin/sh\\necho "broken-tool %s: nothing is broken"\\n' "$version" > broken-tool
    chmod +x broken-tool`;
  return `{ stdenv }:

stdenv.mkDerivation {
  pname = "broken-tool";
  version = "${version}";

  buildPhase = ''
    echo "cc -O2 -c broken-tool.c -o broken-tool.o"
    echo "cc -O2 -c util.c -o util.o"
${link}
  '';

  installPhase = ''
    mkdir -p $out/bin
    cp broken-tool $out/bin/
  '';

  meta = {
    description = "Tool whose next release forgets to link a function";
    mainProgram = "broken-tool";
  };
}
`;
}

export interface ChattyOptions {
  version: string;
  lines: number;
  seconds: number;
}

/** Prints `lines` lines spread over roughly `seconds` seconds, in batches of 50. */
export function chattyNix({ version, lines, seconds }: ChattyOptions): string {
  const batches = Math.max(1, Math.ceil(lines / 50));
  const pause = Math.max(0, seconds / batches).toFixed(3);
  return `{ stdenv }:

stdenv.mkDerivation {
  pname = "chatty";
  version = "${version}";

  # Knobs for rehearsals: how many log lines, and the pause after every 50 of them.
  lines = "${lines}";
  pause = "${pause}";

  buildPhase = ''
    i=1
    while [ $i -le $lines ]; do
      echo "CC src/module-$i.o ($i/$lines)"
      if [ $((i % 50)) -eq 0 ]; then
        sleep $pause
      fi
      i=$((i + 1))
    done
  '';

  meta.description = "Build that prints thousands of log lines";
}
`;
}

export const DEPFAIL_TEST_ERROR = "FAIL: test_parse_header (1 of 12 tests failed)";

export function depfailLibNix(version: string, failing: boolean): string {
  const check = failing
    ? `    echo "PASS: test_open"
    echo "${DEPFAIL_TEST_ERROR}" >&2
    exit 1`
    : `    echo "PASS: 12 of 12 tests passed"`;
  return `{ stdenv }:

stdenv.mkDerivation {
  pname = "depfail-lib";
  version = "${version}";

  buildPhase = ''
    echo "cc -fPIC -c depfail.c -o depfail.o"
    echo "depfail-lib $version" > libdepfail.so
  '';

  doCheck = true;
  checkPhase = ''
${check}
  '';

  installPhase = ''
    mkdir -p $out/lib
    cp libdepfail.so $out/lib/
  '';

  meta.description = "Library whose tests fail in its next release";
}
`;
}

export const DEPFAIL_APP_NIX = `{ stdenv, depfail-lib }:

stdenv.mkDerivation {
  pname = "depfail-app";
  version = "2.3";

  lib = depfail-lib;

  buildPhase = ''
    echo "linking against $(cat $lib/lib/libdepfail.so)"
  '';

  meta.description = "Application that depends on depfail-lib";
}
`;

export const COWSAY_NIX = `{ stdenv }:

stdenv.mkDerivation {
  pname = "cowsay";
  version = "3.8";

  buildPhase = ''
    cat > cowsay <<'COW'
#!/bin/sh
echo " < $* >"
cat <<'ART'
        \\   ^__^
         \\  (oo)\\_______
            (__)\\       )\\/\\
                ||----w |
                ||     ||
ART
COW
    chmod +x cowsay
  '';

  installPhase = ''
    mkdir -p $out/bin
    cp cowsay $out/bin/
  '';

  meta = {
    description = "Program which generates ASCII pictures of a cow with a message";
    mainProgram = "cowsay";
  };
}
`;

export const SL_NIX = `{ stdenv }:

stdenv.mkDerivation {
  pname = "sl";
  version = "5.05";

  buildPhase = ''
    echo "cc -O2 -o sl sl.c -lncurses"
  '';

  meta.description = "Steam locomotive runs across your terminal when you type sl";
}
`;

export function fillerNix(name: string, version: string): string {
  return `{ stdenv }:

stdenv.mkDerivation {
  pname = "${name}";
  version = "${version}";

  buildPhase = ''
    echo "building ${name}"
  '';

  meta.description = "Filler package for benchmarks";
}
`;
}
