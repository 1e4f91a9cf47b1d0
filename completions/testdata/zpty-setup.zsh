# Sourced by the interactive zsh that zpty-drive.zsh runs on a pseudo-terminal.
# Puts $PM_COMPDIR first in $fpath, loads the completion system from the
# dump $PM_ZCOMPDUMP (made by compinit with the same $fpath) and binds TAB
# to a widget that runs complete-word and then prints a marker.
#
# compadd is wrapped to record, in $PM_CAPTURE, the words of every call that
# adds matches: "builtin compadd -O" with the same arguments stores the words
# that match what is on the line, then the real compadd adds them as usual.
# After completion, _pm_post records $compstate[nmatches], so that the test
# can check that the record is complete, and keeps zsh from listing or
# inserting anything.

fpath=($PM_COMPDIR $fpath)
autoload -Uz compinit && compinit -C -d $PM_ZCOMPDUMP

# A command with a completion of its own, for the words after -x.
_pmtestcmd() { compadd alpha beta }
compdef _pmtestcmd pmtestcmd

compadd() {
  # Calls that only ask (-O, -A) or filter descriptions (-D) add nothing.
  if [[ " ${@[1,(i)(-|--)]} " == *' '-[[:alnum:]]#[OAD][[:alnum:]]#' '* ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __pm_words
  builtin compadd -O __pm_words "$@"
  (( $#__pm_words )) && print -rl -- "word:"${^__pm_words} >>| $PM_CAPTURE
  builtin compadd "$@"
}

_pm_post() {
  print -r -- "nmatches:$compstate[nmatches]" >>| $PM_CAPTURE
  compstate[list]=
  compstate[insert]=
}

_pm_tab() {
  comppostfuncs=(_pm_post)
  zle complete-word
  print -n '<<PM''-DONE>>'
}
zle -N _pm_tab
bindkey '^I' _pm_tab

# Printed when the line editor is ready for input.
_pm_ready() { print -n '<<PM''-READY>>' }
zle -N zle-line-init _pm_ready
