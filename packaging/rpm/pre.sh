# %pre of postfix-instances (RPM). $1: 1 on first install, 2+ on upgrade.
#
# On a first install, a running postfix.service is Fedora's single-instance
# service with the default instance's master in it. Our drop-in turns that
# unit into an umbrella and postfix@-.service takes the master over, so stop
# it now and start it again (as the umbrella) in %post. Nothing is lost:
# "postfix stop" lets deliveries finish and the queue stays on disk.
if [ "$1" -eq 1 ] && [ -d /run/systemd/system ] &&
	systemctl is-active --quiet postfix.service; then
	systemctl stop postfix.service
	touch /run/postfix-instances.restart
fi
exit 0
