package schema_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/dpc-go/dpc/sdk/schema"
)

// describe flattens a schema into one line per attribute and block, so a
// test can state what it wants in a readable form and print a useful diff.
func describe(s *basev1.Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	var walk func(s *basev1.Schema, indent string)
	walk = func(s *basev1.Schema, indent string) {
		for _, a := range s.GetAttributes() {
			line := fmt.Sprintf("%sattr %s %s %s", indent, a.GetName(), a.GetType(), requiredWord(a.GetRequired()))
			if a.GetDescription() != "" {
				line += fmt.Sprintf(" help=%q", a.GetDescription())
			}
			if a.GetSensitive() {
				line += " sensitive"
			}
			out = append(out, line)
		}
		for _, b := range s.GetBlocks() {
			nesting := "single"
			if b.GetNesting() == basev1.Block_NESTING_LIST {
				nesting = "list"
			}
			line := fmt.Sprintf("%sblock %s %s %s", indent, b.GetTypeName(), nesting, requiredWord(b.GetRequired()))
			if b.GetDescription() != "" {
				line += fmt.Sprintf(" help=%q", b.GetDescription())
			}
			out = append(out, line)
			walk(b.GetBody(), indent+"  ")
		}
	}
	walk(s, "")
	return out
}

func requiredWord(required bool) string {
	if required {
		return "required"
	}
	return "optional"
}

type everyType struct {
	S   string             `hcl:"s"`
	B   bool               `hcl:"b"`
	I   int                `hcl:"i"`
	I8  int8               `hcl:"i8"`
	I16 int16              `hcl:"i16"`
	I32 int32              `hcl:"i32"`
	I64 int64              `hcl:"i64"`
	U   uint               `hcl:"u"`
	U8  uint8              `hcl:"u8"`
	U16 uint16             `hcl:"u16"`
	U32 uint32             `hcl:"u32"`
	U64 uint64             `hcl:"u64"`
	F32 float32            `hcl:"f32"`
	F64 float64            `hcl:"f64"`
	LS  []string           `hcl:"ls"`
	LN  []int              `hcl:"ln"`
	LB  []bool             `hcl:"lb"`
	LL  [][]string         `hcl:"ll"`
	MS  map[string]string  `hcl:"ms"`
	MF  map[string]float64 `hcl:"mf"`
	ML  map[string][]int   `hcl:"ml"`
}

type optionalAndRequired struct {
	Dir  string `hcl:"dir"`
	Max  int    `hcl:"max,optional"`
	Tags []string
	// skipped: untagged, unexported, labels, remain and empty names.
	Name string `hcl:"name,label"`
	Rest any    `hcl:",remain"`
	//lint:ignore U1000 the schema must skip an unexported field even when tagged.
	hidden    string `hcl:"hidden"`
	EmptyName string `hcl:",optional"`
	//lint:ignore U1000 the schema must skip an unexported field.
	unexported int
}

type helpAndSensitive struct {
	Token string `hcl:"token" help:"API token for the service." sensitive:"true"`
	URL   string `hcl:"url,optional" help:"Base URL."`
	Plain string `hcl:"plain,optional" sensitive:"false"`
}

type server struct {
	URL    string `hcl:"url" help:"Where the server is."`
	Weight int    `hcl:"weight,optional"`
}

type limits struct {
	Max   int `hcl:"max,optional"`
	Burst int `hcl:"burst,optional"`
}

type tlsBlock struct {
	Cert     string `hcl:"cert"`
	Insecure bool   `hcl:"insecure,optional"`
}

type blocks struct {
	Limits  limits    `hcl:"limits,block" help:"Rate limits."`
	TLS     *tlsBlock `hcl:"tls,block"`
	Servers []server  `hcl:"server,block"`
}

type nestedBlocks struct {
	Outer struct {
		Name  string `hcl:"name"`
		Inner []struct {
			Deep *struct {
				X float64 `hcl:"x,optional"`
			} `hcl:"deep,block"`
		} `hcl:"inner,block"`
	} `hcl:"outer,block"`
}

type badChan struct {
	C chan int `hcl:"c"`
}

type badMapKey struct {
	M map[int]string `hcl:"m"`
}

type badInterface struct {
	V any `hcl:"v"`
}

type badListElem struct {
	L []func() `hcl:"l"`
}

type badBlockKind struct {
	B string `hcl:"b,block"`
}

type badBlockPtrList struct {
	B []*server `hcl:"b,block"`
}

type badInsideBlock struct {
	Server struct {
		Bad complex128 `hcl:"bad"`
	} `hcl:"server,block"`
}

type badAttrStruct struct {
	S server `hcl:"s"`
}

func TestFromStruct(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   any
		want []string
	}{
		"nil means no configuration": {in: nil, want: nil},
		"every supported attribute type": {
			in: &everyType{},
			want: []string{
				`attr s "string" required`,
				`attr b "bool" required`,
				`attr i "number" required`,
				`attr i8 "number" required`,
				`attr i16 "number" required`,
				`attr i32 "number" required`,
				`attr i64 "number" required`,
				`attr u "number" required`,
				`attr u8 "number" required`,
				`attr u16 "number" required`,
				`attr u32 "number" required`,
				`attr u64 "number" required`,
				`attr f32 "number" required`,
				`attr f64 "number" required`,
				`attr ls ["list","string"] required`,
				`attr ln ["list","number"] required`,
				`attr lb ["list","bool"] required`,
				`attr ll ["list",["list","string"]] required`,
				`attr ms ["map","string"] required`,
				`attr mf ["map","number"] required`,
				`attr ml ["map",["list","number"]] required`,
			},
		},
		"struct value rather than pointer": {
			in:   optionalAndRequired{},
			want: []string{`attr dir "string" required`, `attr max "number" optional`},
		},
		"optional and required, skipped fields": {
			in:   &optionalAndRequired{},
			want: []string{`attr dir "string" required`, `attr max "number" optional`},
		},
		"help and sensitive tags": {
			in: &helpAndSensitive{},
			want: []string{
				`attr token "string" required help="API token for the service." sensitive`,
				`attr url "string" optional help="Base URL."`,
				`attr plain "string" optional`,
			},
		},
		"struct, pointer and slice blocks": {
			in: &blocks{},
			want: []string{
				`block limits single required help="Rate limits."`,
				`  attr max "number" optional`,
				`  attr burst "number" optional`,
				`block tls single optional`,
				`  attr cert "string" required`,
				`  attr insecure "bool" optional`,
				`block server list optional`,
				`  attr url "string" required help="Where the server is."`,
				`  attr weight "number" optional`,
			},
		},
		"nested blocks": {
			in: &nestedBlocks{},
			want: []string{
				`block outer single required`,
				`  attr name "string" required`,
				`  block inner list optional`,
				`    block deep single optional`,
				`      attr x "number" optional`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := schema.FromStruct(tc.in)
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if tc.in == nil && s != nil {
				t.Fatalf("want a nil schema, got %v", s)
			}
			if got := describe(s); !slices.Equal(got, tc.want) {
				t.Errorf("want\n\t%s\ngot\n\t%s", strings.Join(tc.want, "\n\t"), strings.Join(got, "\n\t"))
			}
		})
	}
}

func TestFromStructUnsupported(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in       any
		wantText string
	}{
		"not a struct":            {in: new(int), wantText: "config must be a struct"},
		"channel":                 {in: &badChan{}, wantText: "badChan.c"},
		"map with non-string key": {in: &badMapKey{}, wantText: "map keys must be strings"},
		"interface":               {in: &badInterface{}, wantText: "badInterface.v"},
		"list of funcs":           {in: &badListElem{}, wantText: "badListElem.l"},
		"struct as an attribute":  {in: &badAttrStruct{}, wantText: "badAttrStruct.s"},
		"block that is a string":  {in: &badBlockKind{}, wantText: "a block must be a struct"},
		"list of pointer blocks":  {in: &badBlockPtrList{}, wantText: "badBlockPtrList.b"},
		"bad type inside a block": {in: &badInsideBlock{}, wantText: "badInsideBlock.server.bad"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := schema.FromStruct(tc.in)
			if !errors.Is(err, schema.ErrUnsupportedType) {
				t.Fatalf("want schema.ErrUnsupportedType, got %v (schema %v)", err, s)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want the error to mention %q, got %q", tc.wantText, err)
			}
		})
	}
}
