// Package pulumi: stand-in for the Pulumi Go SDK's types (see ../../go.mod). Nothing here runs a
// program: the functions exist so that code written against the real SDK compiles.
package pulumi

// Input is any value a resource argument accepts.
type Input interface{ ElementType() string }

// Context is the running program.
type Context struct{}

// Export registers a stack output.
func (ctx *Context) Export(name string, value Input) {}

// RegisterRemoteComponentResource registers a component served by a provider plugin.
func (ctx *Context) RegisterRemoteComponentResource(t, name string, args interface{}, resource interface{}, opts ...ResourceOption) error {
	return nil
}

// Run runs a program.
func Run(body func(ctx *Context) error) {}

// ResourceOption adjusts a resource's options (parent, provider, protect, ...).
type ResourceOption interface{ isResourceOption() }

// ResourceState is embedded in every resource struct.
type ResourceState struct{}

// URN of the resource.
func (ResourceState) URN() StringOutput { return StringOutput{} }

// Protect is the resource option that forbids deleting the resource.
func Protect(bool) ResourceOption { return resourceOption{} }

type resourceOption struct{}

func (resourceOption) isResourceOption() {}

// --- scalars: plain values, pointer inputs and outputs ------------------------------------

type String string
type Int int
type Float64 float64
type Bool bool

type StringInput interface {
	Input
	ToStringOutput() StringOutput
}
type StringPtrInput interface {
	Input
	ToStringPtrOutput() StringPtrOutput
}
type IntInput interface {
	Input
	ToIntOutput() IntOutput
}
type IntPtrInput interface {
	Input
	ToIntPtrOutput() IntPtrOutput
}
type Float64Input interface {
	Input
	ToFloat64Output() Float64Output
}
type Float64PtrInput interface {
	Input
	ToFloat64PtrOutput() Float64PtrOutput
}
type BoolInput interface {
	Input
	ToBoolOutput() BoolOutput
}
type BoolPtrInput interface {
	Input
	ToBoolPtrOutput() BoolPtrOutput
}

type StringOutput struct{}
type StringPtrOutput struct{}
type IntOutput struct{}
type IntPtrOutput struct{}
type Float64Output struct{}
type Float64PtrOutput struct{}
type BoolOutput struct{}
type BoolPtrOutput struct{}
type AnyOutput struct{}

func (String) ElementType() string                  { return "string" }
func (String) ToStringOutput() StringOutput         { return StringOutput{} }
func (String) ToStringPtrOutput() StringPtrOutput   { return StringPtrOutput{} }
func (StringOutput) ElementType() string            { return "string" }
func (o StringOutput) ToStringOutput() StringOutput { return o }
func (StringOutput) ToStringPtrOutput() StringPtrOutput {
	return StringPtrOutput{}
}
func (StringPtrOutput) ElementType() string                  { return "*string" }
func (o StringPtrOutput) ToStringPtrOutput() StringPtrOutput { return o }

func (Int) ElementType() string                     { return "int" }
func (Int) ToIntOutput() IntOutput                  { return IntOutput{} }
func (Int) ToIntPtrOutput() IntPtrOutput            { return IntPtrOutput{} }
func (IntOutput) ElementType() string               { return "int" }
func (o IntOutput) ToIntOutput() IntOutput          { return o }
func (IntOutput) ToIntPtrOutput() IntPtrOutput      { return IntPtrOutput{} }
func (IntPtrOutput) ElementType() string            { return "*int" }
func (o IntPtrOutput) ToIntPtrOutput() IntPtrOutput { return o }

func (Float64) ElementType() string                        { return "float64" }
func (Float64) ToFloat64Output() Float64Output             { return Float64Output{} }
func (Float64) ToFloat64PtrOutput() Float64PtrOutput       { return Float64PtrOutput{} }
func (Float64Output) ElementType() string                  { return "float64" }
func (o Float64Output) ToFloat64Output() Float64Output     { return o }
func (Float64Output) ToFloat64PtrOutput() Float64PtrOutput { return Float64PtrOutput{} }
func (Float64PtrOutput) ElementType() string               { return "*float64" }
func (o Float64PtrOutput) ToFloat64PtrOutput() Float64PtrOutput {
	return o
}

func (Bool) ElementType() string                  { return "bool" }
func (Bool) ToBoolOutput() BoolOutput             { return BoolOutput{} }
func (Bool) ToBoolPtrOutput() BoolPtrOutput       { return BoolPtrOutput{} }
func (BoolOutput) ElementType() string            { return "bool" }
func (o BoolOutput) ToBoolOutput() BoolOutput     { return o }
func (BoolOutput) ToBoolPtrOutput() BoolPtrOutput { return BoolPtrOutput{} }
func (BoolPtrOutput) ElementType() string         { return "*bool" }
func (o BoolPtrOutput) ToBoolPtrOutput() BoolPtrOutput {
	return o
}

func (AnyOutput) ElementType() string { return "interface{}" }

// StringRef and friends: pointers for plain optional arguments.
func StringRef(v string) *string    { return &v }
func IntRef(v int) *int             { return &v }
func Float64Ref(v float64) *float64 { return &v }
func BoolRef(v bool) *bool          { return &v }

// ToSecret marks a value secret.
func ToSecret(input interface{}) Output { return AnyOutput{} }

// Output is any output.
type Output interface{ ElementType() string }

// --- collections ---------------------------------------------------------------------------

type StringArray []StringInput
type StringMap map[string]StringInput
type Array []Input
type Map map[string]Input

type StringArrayInput interface {
	Input
	ToStringArrayOutput() StringArrayOutput
}
type StringMapInput interface {
	Input
	ToStringMapOutput() StringMapOutput
}
type ArrayInput interface {
	Input
	ToArrayOutput() ArrayOutput
}
type MapInput interface {
	Input
	ToMapOutput() MapOutput
}

type StringArrayOutput struct{}
type StringMapOutput struct{}
type ArrayOutput struct{}
type MapOutput struct{}
type IntArrayOutput struct{}
type Float64ArrayOutput struct{}
type IntMapOutput struct{}

func (StringArray) ElementType() string                            { return "[]string" }
func (StringArray) ToStringArrayOutput() StringArrayOutput         { return StringArrayOutput{} }
func (StringArrayOutput) ElementType() string                      { return "[]string" }
func (o StringArrayOutput) ToStringArrayOutput() StringArrayOutput { return o }
func (StringMap) ElementType() string                              { return "map[string]string" }
func (StringMap) ToStringMapOutput() StringMapOutput               { return StringMapOutput{} }
func (StringMapOutput) ElementType() string                        { return "map[string]string" }
func (o StringMapOutput) ToStringMapOutput() StringMapOutput       { return o }
func (Array) ElementType() string                                  { return "[]interface{}" }
func (Array) ToArrayOutput() ArrayOutput                           { return ArrayOutput{} }
func (ArrayOutput) ElementType() string                            { return "[]interface{}" }
func (o ArrayOutput) ToArrayOutput() ArrayOutput                   { return o }
func (Map) ElementType() string                                    { return "map[string]interface{}" }
func (Map) ToMapOutput() MapOutput                                 { return MapOutput{} }
func (MapOutput) ElementType() string                              { return "map[string]interface{}" }
func (o MapOutput) ToMapOutput() MapOutput                         { return o }
