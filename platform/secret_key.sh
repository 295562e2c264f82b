#!/usr/bin/env bash
# Print a secret key for Django: 64 URL-safe random characters (settings refuse fewer than 50).
#
#   bash platform/secret_key.sh          a new key
#   bash platform/secret_key.sh FILE     the key kept in FILE, made once (mode 600) and reused,
#                                        so sessions survive restarts
set -euo pipefail

new_key() { head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_'; }

if (($# == 0)); then new_key; echo; exit 0; fi
file=$1
if [[ ! -s $file ]] || (($(wc -c <"$file") < 50)); then
  mkdir -p "$(dirname "$file")"
  (umask 077 && new_key >"$file")
fi
cat "$file"
