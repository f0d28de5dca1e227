#!/usr/bin/env bash
# Prints a one-line-style sources.list for Debian bookworm (bookworm,
# bookworm-updates, bookworm-security; component main) built from the
# machine's own apt configuration, so no mirror host is written anywhere in
# the repository. Both formats are read: deb822 *.sources and sources.list.
# Exits 1 when the machine's apt configuration names no bookworm mirror.
set -euo pipefail

suite=${1:-bookworm}
{
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: blank-line separated; URIs and Suites may each hold several values.
    awk '
      function flush() { if (types ~ /(^| )deb( |$)/) for (u in uris) for (s in suites) print suites[s], uris[u]; delete uris; delete suites; types = "" }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = types " " }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) uris[i] = $i }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) suites[i] = $i }
      END { flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] uri suite components…
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $3, $2 }'
  done
} | awk -v suite="$suite" '
  ($1 == suite || $1 == suite "-updates" || $1 == suite "-security" || $1 == suite "/updates") && !seen[$1]++ { print "deb " $2 " " $1 " main"; found = 1 }
  END { exit found ? 0 : 1 }
'
