package evident

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Measure is a waveform measurement (enum evident_measure). A measurement
// the signal does not allow (too short, flat, no complete transition or
// period) is NaN, not an error.
type Measure uint32

const (
	// MeasureFrequency is in Hz (mean period between rising 50 % crossings).
	MeasureFrequency Measure = 1
	// MeasurePeriod is in seconds.
	MeasurePeriod Measure = 2
	// MeasureAmplitude is top minus base (IEEE 181 histogram state levels).
	MeasureAmplitude Measure = 3
	// MeasureRiseTime is the 10 %-90 % time of the first rising edge, s.
	MeasureRiseTime Measure = 4
	// MeasureFallTime is the 90 %-10 % time of the first falling edge, s.
	MeasureFallTime Measure = 5
	// MeasureDutyCycle is the percentage of each period above 50 %.
	MeasureDutyCycle Measure = 6
	// MeasureTHD is the total harmonic distortion in percent (harmonics 2-10).
	MeasureTHD Measure = 7
)

// TraceLoadOptions are the loader options of Session.LoadTrace (at most
// one per call; zero fields are no option), as the C call
// evident_session_load_trace_with takes them. LoadTrace reads CSV (a value
// column, or time and value), .npy, sigrok .sr and Tektronix .wfm
// (:WFM#001 to :WFM#003) files and returns the trace name used.
type TraceLoadOptions struct {
	// Channel of a sigrok .sr capture: its name (a string) or the 0-based
	// index of a logic channel (an int); nil for none.
	Channel any `json:"channel,omitempty"`
	// SampleRate (Hz) for a capture without its own (.npy, a CSV without a
	// time column); a capture with its own rate refuses a different one.
	SampleRate float64 `json:"sample_rate,omitempty"`
	// Lazy is accepted for TraceKit compatibility: a trace is read now and
	// mapped from the session file once saved.
	Lazy bool `json:"lazy,omitempty"`
}

// MeasureSamples measures samples taken at sampleRate Hz.
func MeasureSamples(samples []float64, sampleRate float64, m Measure) (float64, error) {
	var p *C.double
	if len(samples) > 0 {
		p = (*C.double)(unsafe.Pointer(&samples[0]))
	}
	var out C.double
	var msg *C.char
	st := C.evgo_measure_samples(p, C.size_t(len(samples)), C.double(sampleRate), C.uint32_t(m), &out, &msg)
	runtime.KeepAlive(samples)
	if err := statusError(st, msg); err != nil {
		return 0, err
	}
	return float64(out), nil
}

// Measure measures the trace (samples as float64, bools as 0 and 1).
func (t *Trace) Measure(m Measure) (float64, error) {
	var out C.double
	err := t.call(func(msg **C.char) C.evident_status { return C.evgo_trace_measure(t.h, C.uint32_t(m), &out, msg) })
	return float64(out), err
}

// Measure measures the session's trace name and records measure_<name>
// in the session's history.
func (s *Session) Measure(name string, m Measure) (float64, error) {
	if err := checkString("trace name", name); err != nil {
		return 0, err
	}
	var out C.double
	err := s.with(true, func(h *C.evident_session) error {
		return callC(func(msg **C.char) C.evident_status {
			return C.evgo_session_measure(h, cstr(name), C.uint32_t(m), &out, msg)
		})
	})
	if err != nil {
		return 0, err
	}
	return float64(out), nil
}
