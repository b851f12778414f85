#!/usr/bin/env zsh
# Drives zsh's own line editor as a user would: an interactive zsh in a
# pseudo-terminal (zsh/zpty) with compinit and the completion file on fpath
# gets each LINE typed followed by TAB. compadd is wrapped to print what the
# completion function offers for that word, so the result is what zsh would
# list, not what the script text looks like.
#
#   zsh_complete.zsh COMPLETION_DIR LINE...
# prints, for each LINE, "== LINE" and then the offered words, sorted.
zmodload zsh/zpty || exit 2
dir=$1
shift
zpty shell zsh -f -i
zpty -w shell "PS1='' PS2=''; fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w shell 'compadd() { local -a offered; builtin compadd -O offered "$@";
  (( $#offered )) && print -rl -- "OFFERED:"${^offered}; builtin compadd "$@" }'
zpty -w shell "setopt nolistbeep nobeep; print -r -- 'REA''DY'"
zpty -r shell out '*READY*' || exit 2
n=0
for line in "$@"; do
  (( n++ ))
  zpty -w -n shell "$line"$'\t'
  zpty -w -n shell $'\C-u'
  # The marker is typed split so the echo of the typed line cannot match it.
  zpty -w shell "print -r -- 'END''-$n'"
  zpty -r shell out "*END-$n*" || exit 2
  print -r -- "== $line"
  print -r -- "$out" | grep -ao 'OFFERED:[^[:cntrl:]]*' | sed 's/^OFFERED://' | sort -u
done
zpty -w shell 'exit'
zpty -d shell
