#!/usr/bin/env bash
# Fails, listing them, while tracked files hold conflict markers or .rej files are tracked:
# what `copier update` leaves where the template and this project changed the same lines.
# Run by CI's lint job and by the template-update workflow; run it by hand the same way.
set -uo pipefail
markers=$(git grep -nE '^(<<<<<<<|>>>>>>>)( |$)' -- . || true)
rejects=$(git ls-files -- '*.rej')
if [ -n "$markers$rejects" ]; then
  echo "Unresolved conflicts from a merge or a template update: resolve these, delete .rej files."
  [ -n "$markers" ] && printf '%s\n' "$markers"
  [ -n "$rejects" ] && printf '%s\n' "$rejects"
  exit 1
fi
echo "No conflict markers."
