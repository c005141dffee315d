package evident_test

import (
	"math"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

func TestMeasurements(t *testing.T) {
	const rate = 1e6
	x := make([]float64, 100000)
	for i := range x {
		x[i] = 2 * math.Sin(2*math.Pi*1000*float64(i)/rate)
	}
	f, err := evident.MeasureSamples(x, rate, evident.MeasureFrequency)
	check(t, err)
	if math.Abs(f-1000) > 1e-3 {
		t.Fatalf("frequency %v", f)
	}
	if v, _ := evident.MeasureSamples(nil, rate, evident.MeasureFrequency); !math.IsNaN(v) {
		t.Fatalf("empty: %v", v)
	}
	if _, err := evident.MeasureSamples(x, rate, evident.Measure(99)); err == nil {
		t.Fatal("unknown measurement accepted")
	}
	s, err := evident.NewSession("m")
	check(t, err)
	defer s.Close()
	check(t, s.AddTrace("CH1", x, evident.TraceInfo{SampleRate: rate}))
	a, err := s.Measure("CH1", evident.MeasureAmplitude)
	check(t, err)
	if math.Abs(a-4) > 0.02 {
		t.Fatalf("amplitude %v", a)
	}
	h, err := s.History()
	check(t, err)
	if len(h) != 1 || h[0].Operation != "measure_amplitude" {
		t.Fatalf("history %+v", h)
	}
	tr, err := s.GetTrace("CH1")
	check(t, err)
	defer tr.Close()
	d, err := tr.Measure(evident.MeasureDutyCycle)
	check(t, err)
	if math.Abs(d-50) > 0.1 {
		t.Fatalf("duty cycle %v", d)
	}
}
