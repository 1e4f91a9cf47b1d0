# Usage: zsh -f zpty-drive.zsh SETUP LINE
# Runs an interactive "zsh -f" on a pseudo-terminal, sources SETUP in it,
# types LINE and a TAB, and waits until the completion has run. What it
# offered is in $PM_CAPTURE (see zpty-setup.zsh).
zmodload zsh/zpty || exit 2
zpty pm zsh -f -i || exit 2
zpty -w pm "source ${(q)1}"
zpty -r pm out '*<<PM-READY>>*' || exit 3
zpty -w -n pm "$2"$'\t'
zpty -r pm out '*<<PM-DONE>>*' || exit 4
zpty -d pm
