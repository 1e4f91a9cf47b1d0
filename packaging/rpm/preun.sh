# %preun of postfix-instances (RPM). $1: 0 on erase, 1+ on upgrade.
#
# On erase, postfix.service goes back to being Fedora's single-instance
# service: stop the umbrella (and so every instance, which are PartOf= it)
# while our units still exist, and start Fedora's service in %postun.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ] &&
	systemctl is-active --quiet postfix.service; then
	systemctl stop postfix.service
	touch /run/postfix-instances.restart
fi
exit 0
