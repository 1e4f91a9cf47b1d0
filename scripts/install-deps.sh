#!/usr/bin/env bash
# install-deps.sh: install everything the test suite needs on a Debian 12
# machine, as root. Idempotent: installs only what is missing.
#
# Debian's postfix package is the oracle our tests compare against. Its
# postinst would start Postfix on this host; a temporary policy-rc.d keeps
# it from doing so (the tests never run Postfix on the host itself).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

packages=(
	postfix            # the oracle: postconf, postmulti, postfix
	debootstrap        # builds the Debian 12, 13 and sid root trees for systemd-nspawn
	systemd-container  # systemd-nspawn
	systemd            # systemd-analyze verify, systemd-escape
	util-linux         # unshare, nsenter, script
	strace
	time               # /usr/bin/time -v for peak RSS in benchmarks
	lintian
	rpmlint
	rpm
	git
	ca-certificates
	bash-completion    # completions/ tests: bash's completion framework
	zsh                # completions/ tests
	fish               # completions/ tests
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Answer postfix's debconf questions: a local-only default instance.
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
	echo "postfix postfix/mailname string test.invalid" | debconf-set-selections
	created_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy=1
	fi
	trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go modules come from the module proxy.
cd "$(dirname "$0")/.."
go mod download
echo "install-deps.sh: all test dependencies present"
