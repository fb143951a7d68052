package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modulePath prefixes the repository's import paths.
const modulePath = "github.com/faxgate/faxgate/"

// TestArchitectureDoc keeps ARCHITECTURE.md true: every path it names
// exists, every `pkg.Name` (or `pkg.Type.Method`) is declared in that
// package, and no package imports what its row of the table forbids.
func TestArchitectureDoc(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	problems, checked := checkArchitecture(root, string(doc))
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 20 {
		t.Errorf("checked %d names and paths, want the document's many", checked)
	}
}

// TestArchitectureDocDrift shows the check failing on a document that names
// what does not exist or allows an import the code makes.
func TestArchitectureDocDrift(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	for _, tc := range []struct{ doc, want string }{
		{"`internal/nosuch` owns nothing", "internal/nosuch"},
		{"`dispatch.Dispatcher.Fly` sends", "dispatch.Dispatcher.Fly"},
		{"`webhook.NoSuchFunc` signs", "webhook.NoSuchFunc"},
		{"`nopkg.Thing` is here", "nopkg.Thing"},
		{"| `internal/sms` | SMS | `internal/fax` |", "internal/sms imports internal/fax"},
		{"| `internal/api` | API | `internal/...` (nothing of ours) |", "internal/api imports internal/fax"},
	} {
		problems, _ := checkArchitecture(root, tc.doc)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
			t.Errorf("%q: problems %q, want one about %s", tc.doc, problems, tc.want)
		}
	}
}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	goName   = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$`)
)

// checkArchitecture returns what in doc does not match the code under root,
// and how many names, paths and import rules it checked.
func checkArchitecture(root, doc string) (problems []string, checked int) {
	pkgs := map[string]string{} // package name → directory relative to root
	for _, top := range []string{"internal", "cmd"} {
		filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if name := packageName(path); name != "" {
				rel, _ := filepath.Rel(root, path)
				pkgs[name] = filepath.ToSlash(rel)
			}
			return nil
		})
	}
	decls := map[string]map[string]bool{}
	for _, m := range codeSpan.FindAllStringSubmatch(doc, -1) {
		span := m[1]
		switch {
		case strings.HasPrefix(span, "internal/") || strings.HasPrefix(span, "cmd/"):
			checked++
			p := strings.TrimSuffix(span, "/...")
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				problems = append(problems, "ARCHITECTURE.md names "+span+", which does not exist")
			}
		case goName.MatchString(span):
			checked++
			pkg, name, _ := strings.Cut(span, ".")
			dir, ok := pkgs[pkg]
			if !ok {
				problems = append(problems, "ARCHITECTURE.md names "+span+": no package "+pkg)
				continue
			}
			if decls[dir] == nil {
				decls[dir] = declarations(filepath.Join(root, dir))
			}
			if !decls[dir][name] {
				problems = append(problems, "ARCHITECTURE.md names "+span+", which "+dir+" does not declare")
			}
		}
	}
	for _, row := range strings.Split(doc, "\n") {
		cells := strings.Split(row, "|")
		if len(cells) != 5 {
			continue
		}
		owner := codeSpan.FindStringSubmatch(cells[1])
		if owner == nil {
			continue
		}
		var forbidden []string
		for _, m := range codeSpan.FindAllStringSubmatch(cells[3], -1) {
			forbidden = append(forbidden, strings.TrimSuffix(m[1], "/..."))
		}
		for dir, imports := range packageImports(root, owner[1]) {
			for _, imp := range imports {
				for _, f := range forbidden {
					checked++
					if imp == f || strings.HasPrefix(imp, f+"/") {
						problems = append(problems, dir+" imports "+imp+", which ARCHITECTURE.md forbids")
					}
				}
			}
		}
	}
	return problems, checked
}

// packageName is the name of the Go package in dir, "" when there is none;
// a command is "main".
func packageName(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err == nil {
			return af.Name.Name
		}
	}
	return ""
}

// declarations lists what the non-test files in dir declare at top level:
// "Name" for functions, types, variables and constants, "Type.Name" for
// methods and struct fields.
func declarations(dir string) map[string]bool {
	out := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) == 0 {
					out[d.Name.Name] = true
					continue
				}
				out[receiverName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						out[s.Name.Name] = true
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, fl := range st.Fields.List {
								for _, n := range fl.Names {
									out[s.Name.Name+"."+n.Name] = true
								}
							}
						}
						if it, ok := s.Type.(*ast.InterfaceType); ok {
							for _, m := range it.Methods.List {
								for _, n := range m.Names {
									out[s.Name.Name+"."+n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out[n.Name] = true
						}
					}
				}
			}
		}
	}
	return out
}

func receiverName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// packageImports maps each directory at or under path (relative to root)
// to the repository packages its non-test files import.
func packageImports(root, path string) map[string][]string {
	out := map[string][]string{}
	filepath.WalkDir(filepath.Join(root, path), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		af, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		for _, is := range af.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			if own, ok := strings.CutPrefix(imp, modulePath); ok && !slices.Contains(out[rel], own) {
				out[rel] = append(out[rel], own)
			}
		}
		return nil
	})
	return out
}
