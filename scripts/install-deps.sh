#!/usr/bin/env bash
# install-deps.sh: install what this project needs on a Debian machine, as
# root. Idempotent: installs only what is missing.
#
#   scripts/install-deps.sh        everything the test suite needs (make test)
#   scripts/install-deps.sh demo   only what make demo needs: booting a
#                                  container and building the .deb
#
# Debian's postfix package is the oracle our tests compare against. Its
# postinst would start Postfix on this host; a temporary policy-rc.d keeps
# it from doing so (the tests never run Postfix on the host itself).
set -euo pipefail

set_name=${1:-test}
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

# make demo: boot a Debian container (the root tree is built with
# debootstrap from the host's apt mirror, over https when the sources say
# so) and build the .deb with nfpm (a Go module) from a git work tree.
demo_packages=(
	debootstrap            # builds the root tree for systemd-nspawn
	debian-archive-keyring # debootstrap checks the mirror's signatures
	systemd-container      # systemd-nspawn
	util-linux             # nsenter
	git                    # the package version (git describe)
	ca-certificates
)

test_packages=(
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
	ansible-lint       # ansible/: lints the role (pulls in ansible-core)
	dpkg-dev           # test/ansible: dpkg-scanpackages for its APT repository
	gpg                # test/ansible: signs that repository
	gpg-agent          # test/ansible: gpg makes its key through the agent (only a Recommends of gpg)
	curl               # packaging/installtest: Debian 13's postfix .deb from the mirror's pool
)

case $set_name in
test) packages=("${demo_packages[@]}" "${test_packages[@]}") ;;
demo) packages=("${demo_packages[@]}") ;;
*)
	echo "install-deps.sh: unknown set $set_name (test, demo)" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if [[ " ${missing[*]} " == *" postfix "* ]]; then
		# Answer postfix's debconf questions: a local-only default instance.
		echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
		echo "postfix postfix/mailname string test.invalid" | debconf-set-selections
	fi
	created_policy=
	if [ "$set_name" = test ] && [ ! -e /usr/sbin/policy-rc.d ]; then
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
echo "install-deps.sh: everything $set_name needs is present"
