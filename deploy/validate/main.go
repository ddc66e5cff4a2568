// Command cronmesh-kube-validate checks Kubernetes manifests offline, against the real API types
// of k8s.io/api: each document is decoded strictly (an unknown or duplicated field, a wrong type or
// an unknown kind is an error), then the objects of all files are checked against each other
// (selectors, named ports, referenced ConfigMaps and Secrets).
//
//	cronmesh-kube-validate deploy/k8s                    # every *.yaml below, as one set
//	cronmesh-kube-validate -expect-fail testdata/bad-*.yaml  # each file alone must be refused
//
// It exits 1 when a check fails. It does not run the API server's own validation or admission.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// version is printed by -version, which the build script uses to check a fresh binary.
const version = "cronmesh-kube-validate 1"

func main() {
	expectFail := flag.Bool("expect-fail", false, "each file must be refused on its own (negative controls)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: cronmesh-kube-validate [-expect-fail] FILE|DIR...")
		os.Exit(2)
	}
	var ok bool
	if *expectFail {
		ok = refusesEach(flag.Args())
	} else {
		ok = acceptsAll(flag.Args())
	}
	if !ok {
		os.Exit(1)
	}
}

// acceptsAll validates every manifest under paths as one set and prints each problem.
func acceptsAll(paths []string) bool {
	files, err := yamlFiles(paths)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	objects, problems := decodeFiles(files)
	problems = append(problems, crossCheck(objects)...)
	if len(objects) == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("no manifests found in %v", paths))
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) == 0 {
		fmt.Printf("ok: %d objects in %d files\n", len(objects), len(files))
	}
	return len(problems) == 0
}

// refusesEach checks that every file, validated alone, is refused, and for the reasons its
// `# expect: TEXT` lines give (each TEXT must appear in some problem), so that a negative control
// cannot pass by failing for another reason.
func refusesEach(paths []string) bool {
	files, err := yamlFiles(paths)
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "no files to check", err)
		return false
	}
	ok := true
	for _, file := range files {
		objects, problems := decodeFiles([]string{file})
		problems = append(problems, crossCheck(objects)...)
		expected, err := expectations(file)
		if err != nil || len(expected) == 0 {
			fmt.Fprintf(os.Stderr, "%s: needs at least one '# expect: TEXT' line (%v)\n", file, err)
			ok = false
			continue
		}
		for _, text := range expected {
			if !anyContains(problems, text) {
				fmt.Fprintf(os.Stderr, "%s: no problem mentions %q; found %q\n", file, text, problems)
				ok = false
			}
		}
		if len(problems) > 0 {
			fmt.Printf("refused as expected: %s\n", problems[0])
		}
	}
	return ok
}

// expectations reads the `# expect: TEXT` lines of a file.
func expectations(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if text, found := strings.CutPrefix(strings.TrimSpace(line), "# expect:"); found {
			out = append(out, strings.TrimSpace(text))
		}
	}
	return out, nil
}

func anyContains(problems []string, text string) bool {
	for _, p := range problems {
		if strings.Contains(p, text) {
			return true
		}
	}
	return false
}
