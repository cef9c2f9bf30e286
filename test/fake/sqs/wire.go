package sqs

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveHTTP decodes one AWS JSON 1.0 request and runs its operation.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		writeError(w, 400, "InvalidAction", "not an AWS JSON 1.0 SQS request")
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		writeError(w, 403, "MissingAuthenticationToken", "request is not signed")
		return
	}
	s.mu.Lock()
	s.calls[op]++
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		if f := fault(op); f.Status != 0 {
			writeError(w, f.Status, f.Type, f.Message)
			return
		}
	}
	var in request
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "SerializationException", "malformed JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queueFor(in.QueueURL)
	if q == nil {
		writeError(w, 400, "QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	switch op {
	case "SendMessage":
		s.sendMessage(w, q, in)
	case "ReceiveMessage":
		s.receiveMessage(w, q, in)
	case "DeleteMessage":
		s.deleteMessage(w, q, in)
	case "ChangeMessageVisibility":
		s.changeVisibility(w, q, in)
	case "GetQueueAttributes":
		s.queueAttributes(w, q)
	default:
		writeError(w, 400, "UnsupportedOperation", op+" is not served by the fake")
	}
}

// request is the union of the operations' inputs.
type request struct {
	QueueURL            string               `json:"QueueUrl"`
	MessageBody         *string              `json:"MessageBody"`
	MessageAttributes   map[string]attribute `json:"MessageAttributes"`
	DelaySeconds        int                  `json:"DelaySeconds"`
	MaxNumberOfMessages int                  `json:"MaxNumberOfMessages"`
	VisibilityTimeout   *int                 `json:"VisibilityTimeout"`
	WaitTimeSeconds     int                  `json:"WaitTimeSeconds"`
	AttributeNames      []string             `json:"AttributeNames"`
	SystemAttributes    []string             `json:"MessageSystemAttributeNames"`
	MessageAttrNames    []string             `json:"MessageAttributeNames"`
	ReceiptHandle       string               `json:"ReceiptHandle"`
}

func (s *Server) sendMessage(w http.ResponseWriter, q *queue, in request) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		writeError(w, 400, "MissingParameter", "The request must contain the parameter MessageBody.")
		return
	}
	if len(*in.MessageBody) > 256<<10 {
		writeError(w, 400, "InvalidParameterValue", "message too long")
		return
	}
	for _, a := range in.MessageAttributes {
		if a.DataType != "String" && a.DataType != "Number" {
			writeError(w, 400, "InvalidParameterValue", "the fake stores only String and Number attributes")
			return
		}
	}
	m := s.store(q, *in.MessageBody, in.MessageAttributes)
	if in.DelaySeconds > 0 {
		m.hiddenTill = s.now().Add(time.Duration(in.DelaySeconds) * time.Second)
	}
	writeJSON(w, map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)})
}

func (s *Server) receiveMessage(w http.ResponseWriter, q *queue, in request) {
	max := in.MaxNumberOfMessages
	if max == 0 {
		max = 1
	}
	if max < 1 || max > 10 {
		writeError(w, 400, "InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10")
		return
	}
	vis := q.visibility
	if in.VisibilityTimeout != nil {
		vis = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	type outMessage struct {
		MessageID         string               `json:"MessageId"`
		ReceiptHandle     string               `json:"ReceiptHandle"`
		MD5OfBody         string               `json:"MD5OfBody"`
		Body              string               `json:"Body"`
		Attributes        map[string]string    `json:"Attributes,omitempty"`
		MessageAttributes map[string]attribute `json:"MessageAttributes,omitempty"`
	}
	sys := append(append([]string{}, in.AttributeNames...), in.SystemAttributes...)
	var out []outMessage
	for _, m := range s.receive(q, max, vis) {
		om := outMessage{MessageID: m.id, ReceiptHandle: m.handle, MD5OfBody: md5Hex(m.body), Body: m.body}
		all := map[string]string{
			"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstRecv.UnixMilli(), 10),
			"SenderId":                         "AIDAFAKESQSSENDER",
		}
		for _, k := range sortedNames(all) {
			if wanted(sys, k) {
				if om.Attributes == nil {
					om.Attributes = map[string]string{}
				}
				om.Attributes[k] = all[k]
			}
		}
		for _, k := range sortedNames(m.attrs) {
			if wanted(in.MessageAttrNames, k) {
				if om.MessageAttributes == nil {
					om.MessageAttributes = map[string]attribute{}
				}
				om.MessageAttributes[k] = m.attrs[k]
			}
		}
		out = append(out, om)
	}
	writeJSON(w, map[string]any{"Messages": out})
}

// byHandle finds the in-flight message whose latest receipt handle is h.
func byHandle(q *queue, h string) (int, *message) {
	for i, m := range q.msgs {
		if h != "" && m.handle == h {
			return i, m
		}
	}
	return -1, nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, q *queue, in request) {
	i, m := byHandle(q, in.ReceiptHandle)
	if m == nil {
		writeError(w, 400, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
		return
	}
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
	writeJSON(w, map[string]any{})
}

func (s *Server) changeVisibility(w http.ResponseWriter, q *queue, in request) {
	_, m := byHandle(q, in.ReceiptHandle)
	if m == nil {
		writeError(w, 400, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
		return
	}
	now := s.now()
	if !m.hiddenTill.After(now) {
		writeError(w, 400, "MessageNotInflight", "The message referred to isn't in flight.")
		return
	}
	if in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
		writeError(w, 400, "InvalidParameterValue", "VisibilityTimeout must be 0 to 43200")
		return
	}
	d := time.Duration(*in.VisibilityTimeout) * time.Second
	if now.Add(d).Sub(m.receivedAt) > maxVisibility {
		writeError(w, 400, "InvalidParameterValue", "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
		return
	}
	m.hiddenTill = now.Add(d)
	writeJSON(w, map[string]any{})
}

func (s *Server) queueAttributes(w http.ResponseWriter, q *queue) {
	now := s.now()
	visible, hidden := 0, 0
	for _, m := range q.msgs {
		if m.hiddenTill.After(now) {
			hidden++
		} else {
			visible++
		}
	}
	writeJSON(w, map[string]any{"Attributes": map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(hidden),
		"VisibilityTimeout":                     strconv.Itoa(int(q.visibility / time.Second)),
		"QueueArn":                              "arn:aws:sqs:us-east-1:" + AccountID + ":" + q.name,
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	if typ == "" {
		typ = "InternalError"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + typ, "message": msg})
}
