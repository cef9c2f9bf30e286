package template

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
)

func TestScratch(t *testing.T) {
	opts := &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Fn::Sub": func(_ string, in any, _ any) any { if s, ok := in.(string); ok { return s }; return in },
	}}
	_ = opts; tm, err := goformation.Open("../../template.yaml")
	if err != nil { t.Fatal(err) }
	for id, f := range tm.GetAllServerlessFunctionResources() {
		b, _ := json.Marshal(f.Policies)
		fmt.Println(id, string(b), f.AWSCloudFormationMetadata)
		for n, ev := range f.Events {
			b, _ := json.Marshal(ev.Properties)
			fmt.Printf("  %s %s %+v %s\n", n, ev.Type, ev.Properties.HttpApiEvent, b)
		}
	}
	for id, a := range tm.GetAllCloudWatchAlarmResources() { fmt.Println(id, *a.MetricName, a.Dimensions) }
	fmt.Println(tm.Globals, tm.Outputs)
}
