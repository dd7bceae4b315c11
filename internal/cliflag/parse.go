package cliflag

import "flag"

// Parse parses args with fs, flags and positional arguments in any order,
// and returns the positional arguments in the order given. "--" ends the
// flags as usual: everything after it is positional.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
