# %postun of postfix-instances (RPM). $1: 0 on erase, 1+ on upgrade.
#
# On erase, give postfix its postmulti and manual page back (see %post).
undivert() {
	path=$1
	ours=$2
	if [ -L "$path" ] && [ "$(readlink "$path")" = "$ours" ]; then
		if [ -e "$path.distrib" ]; then
			mv -Tf "$path.distrib" "$path"
		else
			rm -f "$path"
		fi
	fi
	# A postfix upgrade restored its own file already: drop the stale copy.
	if [ -e "$path.distrib" ] && [ ! -L "$path" ] && [ -e "$path" ]; then
		rm -f "$path.distrib"
	fi
}
if [ "$1" -eq 0 ]; then
	undivert /usr/sbin/postmulti /usr/libexec/postfix-instances/postmulti
	undivert /usr/share/man/man1/postmulti.1.gz /usr/share/postfix-instances/man/man1/postmulti.1.gz
fi

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -eq 0 ] && [ -e /run/postfix-instances.restart ]; then
		rm -f /run/postfix-instances.restart
		systemctl start postfix.service || :
	fi
fi
exit 0
