# %post of postfix-instances (RPM). $1: 1 on first install, 2+ on upgrade.
#
# RPM has no dpkg-divert, and nfpm cannot emit %triggerin, so postfix's
# /usr/sbin/postmulti and its manual page are redirected here by hand:
# postfix's file is kept as PATH.distrib and PATH becomes a symlink to ours.
# %postun undoes it. A later upgrade of postfix alone puts its own file back
# (see packaging/README.md, "RPM"); reinstalling postfix-instances, or
# running this again, redirects it anew.
divert() {
	path=$1
	ours=$2
	if [ -L "$path" ] && [ "$(readlink "$path")" = "$ours" ]; then
		return 0
	fi
	if [ -e "$path" ]; then
		# Keep postfix's file (a newer one replaces an older copy).
		ln -f "$path" "$path.distrib"
	fi
	ln -sfn "$ours" "$path.postfix-instances-new"
	mv -Tf "$path.postfix-instances-new" "$path"
}
divert /usr/sbin/postmulti /usr/libexec/postfix-instances/postmulti
divert /usr/share/man/man1/postmulti.1.gz /usr/share/postfix-instances/man/man1/postmulti.1.gz

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ -e /run/postfix-instances.restart ]; then
		rm -f /run/postfix-instances.restart
		systemctl start postfix.service || :
	fi
fi
exit 0
