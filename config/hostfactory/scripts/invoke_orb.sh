#!/bin/sh
# Runs one Symphony Host Factory call through orb:
#   invoke_orb.sh <call> [-f FILE | --f FILE | --file FILE | FILE]
# The five scripts source this file with `orb_call` set, so a call costs one POSIX shell and
# no subshell before orb itself.
# The orb binary is $ORB_BIN, else the one `orb scripts DIR` wrote these scripts for, else
# <install>/bin/orb (these scripts in <install>/scripts), else `orb` on PATH. orb itself finds its configuration, templates, state and log directories from
# Host Factory's environment (HF_PROVIDER_NAME, HF_PROVIDER_CONFDIR, HF_PROVIDER_WORKDIR,
# HF_PROVIDER_LOGDIR); the working directory does not matter. Exactly one JSON object is
# written to stdout.
set -u
if [ -z "${orb_call:-}" ]; then
    orb_call="$1"
    shift
fi
case "$0" in
    */*) here="${0%/*}" ;;
    *) here=. ;;
esac

installed_orb=""
if [ -n "${ORB_BIN:-}" ]; then
    orb="$ORB_BIN"
elif [ -n "$installed_orb" ]; then
    orb="$installed_orb"
elif [ -x "$here/../bin/orb" ]; then
    orb="$here/../bin/orb"
else
    orb="$(command -v orb || true)"
fi
if [ -z "$orb" ] || [ ! -x "$orb" ]; then
    printf '{"error": true, "message": "the orb binary was not found: set ORB_BIN or put orb on PATH", "type": "ConfigurationError"}\n'
    exit 1
fi
exec "$orb" hostfactory "$orb_call" "$@"
