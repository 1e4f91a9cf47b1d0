// Package completions holds the tests of postmulti's shell completions
// (postmulti.bash, _postmulti, postmulti.fish): each runs the real shell,
// bash with bash-completion, fish, and an interactive zsh on a
// pseudo-terminal, against a fake postmulti -l, and checks what completing
// a command line offers. A missing shell fails the test, naming the Debian
// package to install; -short skips instead.
package completions
