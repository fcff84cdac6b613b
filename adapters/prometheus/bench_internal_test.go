package prometheus

import (
	"bytes"
	"fmt"
	"testing"
)

// answer5x300 is a 5-series, 300-point answer as Prometheus writes it.
func answer5x300() []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for s := range 5 {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"__name__":"node_filesystem_avail_bytes","device":"/dev/sda%d","fstype":"ext4","instance":"db-%d:9100","job":"node","mountpoint":"/data%d"},"values":[`, s, s, s)
		for i := range 300 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%d.%03d,"%d.%d"]`, 1772366400+15*i, (i*7)%1000, 52613349376+i*4096, i%10)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

func TestDecodeAnswer5x300(t *testing.T) {
	a, err := decodeAnswer(bytes.NewReader(answer5x300()))
	if err != nil {
		t.Fatal(err)
	}
	if a.status != "success" || a.resultType != "matrix" || len(a.series) != 5 || len(a.series[4].Points) != 300 {
		t.Fatalf("%+v", a)
	}
	if p := a.series[4].Points[299]; p.T.UnixMilli() != (1772366400+15*299)*1000+(299*7)%1000 || p.V != 52613349376+299*4096+0.9 {
		t.Fatalf("last point %v %v", p.T.UnixMilli(), p.V)
	}
}

// BenchmarkDecode5x300 decodes a 5-series, 300-point answer (about 44 KB),
// the size of one graph on a card.
func BenchmarkDecode5x300(b *testing.B) {
	body := answer5x300()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeAnswer(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
