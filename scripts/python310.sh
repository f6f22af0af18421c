# Sourced by setup.sh and lock.sh: prints the path of a Python 3.10 interpreter or fails.
find_python() {
  if [ -n "${PYTHON310:-}" ] && [ -x "$PYTHON310" ]; then echo "$PYTHON310"; return; fi
  if command -v python3.10 >/dev/null 2>&1; then
    local p; p=$(command -v python3.10)
    # a pyenv shim answers even when 3.10 is not the active version: check it really runs
    if "$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then echo "$p"; return; fi
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local v
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -t. -k3 -n -r); do
      local prefix; prefix=$(pyenv prefix "$v" 2>/dev/null) || continue
      if [ -x "$prefix/bin/python3.10" ]; then echo "$prefix/bin/python3.10"; return; fi
    done
  fi
  for p in /root/.pyenv/versions/3.10.*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if [ -x "$p" ]; then echo "$p"; return; fi
  done
  return 1
}

