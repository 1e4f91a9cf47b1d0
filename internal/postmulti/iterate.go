package postmulti

// iterate is upstream's iterator mode (-l, -p, -x): no selection means all
// instances; the instance list is read; the mode runs.
func (r *runner) iterate() error {
	o := r.opts
	if o.Selection.typ == selNone {
		o.Selection.typ = selAll
	}
	if err := r.loadAll(); err != nil {
		return err
	}
	switch o.Mode {
	case modeList:
		return r.runList(ListOptions{Selection: o.Selection, Reverse: o.Reverse})
	case modeGeneric:
		return r.runExec(ExecOptions{Selection: o.Selection, Reverse: o.Reverse, Args: o.Args})
	default:
		return r.runPostfix(PostfixOptions{Selection: o.Selection, Args: o.Args, Verbose: o.Verbose > 0})
	}
}
