package template

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// secretARN is the only resource a function may read: its tenants' secrets.
const secretARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}*"

// maxTimeout is the most a function may run: Twilio waits 15 s for TwiML
// before it calls the fallback URL, and a failing webhook should get there
// well before.
const maxTimeout = 5

// maxQueueTimeout bounds a function fed by a queue (Lambda's limit is 900 s).
const maxQueueTimeout = 900

// expectedRoutes are the HttpApi routes of each function ("METHOD /path").
var expectedRoutes = map[string][]string{
	"token":    {"GET /token", "OPTIONS /token", "POST /token"},
	"voice":    {"POST /voice"},
	"incoming": {"POST /incoming", "POST /incoming/dial-complete", "POST /incoming/recording-complete", "POST /incoming/screen", "POST /incoming/screen-answer"},
	"events": {"GET /recordings/{account_sid}/{recording_sid}", "GET /transcripts/{account_sid}/{recording_sid}",
		"POST /events/call-status", "POST /events/recording-status"},
	"deliver": nil, // fed by the events queue (checkDelivery)
	"calls": {"OPTIONS /calls/transfer/{step}", "OPTIONS /calls/{action}", "POST /calls/add", "POST /calls/hold",
		"POST /calls/remove", "POST /calls/resume", "POST /calls/transfer", "POST /calls/transfer/cancel",
		"POST /calls/transfer/complete", "POST /events/conference-status"},
}

// servedPaths are the paths each function's handler serves; every one must
// be reachable through a route of that function.
var servedPaths = map[string][]string{
	"token":    {httpapi.PathToken},
	"voice":    {httpapi.PathVoice},
	"incoming": {httpapi.PathIncoming, httpapi.PathDialComplete, httpapi.PathRecordingComplete, httpapi.PathScreen, httpapi.PathScreenAnswer},
	"events": {httpapi.PathCallStatus, httpapi.PathRecordingStatus,
		httpapi.PathRecordings + "AC0123456789abcdef0123456789abcdef/RE0123456789abcdef0123456789abcdef",
		httpapi.PathTranscripts + "AC0123456789abcdef0123456789abcdef/RE0123456789abcdef0123456789abcdef"},
	"calls": {httpapi.PathCallsHold, httpapi.PathCallsResume, httpapi.PathCallsTransfer, httpapi.PathCallsTransferComplete,
		httpapi.PathCallsTransferCancel, httpapi.PathCallsAdd, httpapi.PathCallsRemove, httpapi.PathConferenceEvents},
}

// handlers are each function's routes as its main mounts them, with an
// empty tenant store: enough to tell a served path from a 404.
var handlers = map[string]func(httpapi.Deps) http.Handler{
	"token":    httpapi.Token,
	"voice":    httpapi.Voice,
	"incoming": httpapi.Incoming,
	"events":   httpapi.Events,
	"calls":    httpapi.Calls,
}

// mutation edits the template (or, with makefile set, the Makefile) so that
// one check must fail. old must occur in the file: a mutation that no longer
// applies is an error, not a silent pass.
type mutation struct {
	name     string
	makefile bool
	old, new string
}

// checks are run on the real template (all must pass) and on each of their
// mutations (the check must fail).
var checks = []struct {
	name      string
	check     func(*stack) error
	mutations []mutation
}{
	{"Globals: the cost-allocation tag only", checkGlobals, []mutation{
		{"a timeout in Globals", false, "    PropagateTags: true\n  HttpApi:\n", "    PropagateTags: true\n    Timeout: 30\n  HttpApi:\n"},
		{"tags not propagated", false, "    PropagateTags: true\n  HttpApi:\n", "    PropagateTags: false\n  HttpApi:\n"},
		{"API untagged", false, "  HttpApi:\n    Tags:\n      app: bubble-twilio-voice\n", "  HttpApi:\n    Tags:\n      owner: me\n"},
	}},
	{"functions have a build target and a package", checkFunctionsBuild, []mutation{
		{"target renamed", true, "build-VoiceFunction:", "build-VoiceFn:"},
		{"target builds another package", true, "-o $(ARTIFACTS_DIR)/bootstrap ./functions/incoming", "-o $(ARTIFACTS_DIR)/bootstrap ./functions/voice"},
		{"function without a package", false, "\n  IncomingFunction:\n", "\n  InboundFunction:\n"},
		{"target writes /bootstrap without SAM", true, "build-VoiceFunction:\n\t$(require-artifacts-dir)\n", "build-VoiceFunction:\n"},
		{"guard that guards nothing", true, "@test -n \"$(ARTIFACTS_DIR)\" ||", "@true ||"},
	}},
	{"runtime provided.al2023", checkFunctions(func(id string, f fn) error {
		return want(id, "Runtime", str(f.Runtime), "provided.al2023")
	}), []mutation{{"al2", false, "Runtime: provided.al2023", "Runtime: provided.al2"}}},
	{"architectures [arm64]", checkFunctions(func(id string, f fn) error {
		return want(id, "Architectures", fmt.Sprint(f.Architectures), "[arm64]")
	}), []mutation{
		{"x86_64", false, "Architectures: [arm64]", "Architectures: [x86_64]"},
		{"both", false, "Architectures: [arm64]", "Architectures: [arm64, x86_64]"},
		{"missing", false, "      Architectures: [arm64]\n", ""},
	}},
	{"handler bootstrap", checkFunctions(func(id string, f fn) error {
		return want(id, "Handler", str(f.Handler), "bootstrap")
	}), []mutation{{"main", false, "Handler: bootstrap", "Handler: main"}}},
	{"timeout at most 5 s behind the API, stated for the queue's", checkFunctions(func(id string, f fn) error {
		limit := maxTimeout
		if !hasHTTPEvents(f) {
			limit = maxQueueTimeout // checkDelivery ties it to the queue's visibility
		}
		if f.Timeout == nil || *f.Timeout < 1 || *f.Timeout > limit {
			return fmt.Errorf("%s: Timeout %v, want 1..%d s (Twilio gives up at 15 s, then calls the fallback URL)", id, deref(f.Timeout), limit)
		}
		return nil
	}), []mutation{
		{"10 s", false, "Timeout: 5", "Timeout: 10"},
		{"missing (SAM default 3 s is fine, but it must be stated)", false, "      Timeout: 5\n", ""},
		{"events function 30 s", false, "      # An answer in time for Twilio, and sooner than its 15 s limit.\n      Timeout: 5", "      Timeout: 30"},
		{"deliver function missing", false, "      Timeout: 180\n", ""},
	}},
	{"BuildMethod makefile", checkFunctions(func(id string, f fn) error {
		m, _ := f.AWSCloudFormationMetadata["BuildMethod"].(string)
		return want(id, "Metadata.BuildMethod", m, "makefile")
	}), []mutation{{"go1.x", false, "BuildMethod: makefile", "BuildMethod: go1.x"}}},
	{"roles: each function its own, least privilege", checkPolicy, []mutation{
		{"another action", false, "Action: secretsmanager:GetSecretValue", "Action: [secretsmanager:GetSecretValue, secretsmanager:ListSecrets]"},
		{"wildcard action", false, "Action: secretsmanager:GetSecretValue", "Action: secretsmanager:*"},
		{"any secret", false, "secret:${SecretPrefix}*", "secret:*"},
		{"another stack's tenants readable", false, "                Condition:\n                  StringEqualsIfExists:\n                    aws:ResourceTag/bubble-twilio-voice:stack: !Sub ${AWS::StackName}\n", ""},
		{"untagged tenants unreadable", false, "                  StringEqualsIfExists:\n                    aws:ResourceTag/bubble-twilio-voice:stack", "                  StringEquals:\n                    aws:ResourceTag/bubble-twilio-voice:stack"},
		{"tag of another key", false, "aws:ResourceTag/bubble-twilio-voice:stack: !Sub", "aws:ResourceTag/stack: !Sub"},
		{"any resource", false, "Resource: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}*", `Resource: "*"`},
		{"managed policy added", false, "      ManagedPolicyArns: !If [HasKmsKey, [!Ref TenantSecretsKeyPolicy], !Ref AWS::NoValue]\n", "      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]\n"},
		{"SAM's role instead", false, "      Role: !GetAtt VoiceFunctionRole.Arn\n", ""},
		{"another function's role", false, "      Role: !GetAtt VoiceFunctionRole.Arn\n", "      Role: !GetAtt TokenFunctionRole.Arn\n"},
		{"role anyone may assume", false, "            Principal: {Service: lambda.amazonaws.com}", "            Principal: {AWS: \"*\"}"},
		{"deny turned allow-all", false, "              - Effect: Allow\n", "              - Effect: Allow\n                NotAction: iam:*\n                Resource: \"*\"\n              - Effect: Allow\n"},
		{"logs anywhere", false, "                Resource: !GetAtt TokenLogGroup.Arn", "                Resource: \"*\""},
		{"logs into another function's group", false, "                Resource: !GetAtt VoiceLogGroup.Arn", "                Resource: !GetAtt TokenLogGroup.Arn"},
		{"incoming sends to any queue", false, "              # call.missed from the no-answer step\n              - Effect: Allow\n                Action: sqs:SendMessage\n                Resource: !GetAtt EventsQueue.Arn", "              # call.missed from the no-answer step\n              - Effect: Allow\n                Action: sqs:SendMessage\n                Resource: \"*\""},
		{"events sends to the dead-letter queue", false, "                Action: sqs:SendMessage\n                Resource: !GetAtt EventsQueue.Arn\n              # A presigned", "                Action: sqs:SendMessage\n                Resource: !GetAtt EventsDeadLetterQueue.Arn\n              # A presigned"},
		{"events writes recordings", false, "                Action: s3:GetObject\n", "                Action: [s3:GetObject, s3:PutObject]\n"},
		{"events reads any bucket", false, "                Action: s3:GetObject\n                Resource: !Sub ${RecordingsBucket.Arn}/*", "                Action: s3:GetObject\n                Resource: \"*\""},
		{"link key readable by token", false, "        - PolicyName: token\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n", "        - PolicyName: token\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n              - Effect: Allow\n                Action: secretsmanager:GetSecretValue\n                Resource: !Ref RecordingLinkKey\n"},
		{"deliver sends to the events queue", false, "                Action: sqs:SendMessage\n                Resource: !GetAtt EventsDeadLetterQueue.Arn", "                Action: sqs:SendMessage\n                Resource: !GetAtt EventsQueue.Arn"},
		{"deliver may delete recordings", false, "                Action: [s3:GetObject, s3:PutObject]", "                Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]"},
		{"deliver purges the queue", false, "sqs:ChangeMessageVisibility]", "sqs:ChangeMessageVisibility, sqs:PurgeQueue]"},
		{"deliver receives from any queue", false, "sqs:ChangeMessageVisibility]\n                Resource: !GetAtt EventsQueue.Arn", "sqs:ChangeMessageVisibility]\n                Resource: \"*\""},
		{"deliver lists every bucket", false, "                Action: s3:ListBucket\n                Resource: !GetAtt RecordingsBucket.Arn", "                Action: s3:ListBucket\n                Resource: \"*\""},
	}},
	{"outputs TokenUrl, VoiceUrl, IncomingUrl", checkOutputs, []mutation{
		{"renamed", false, "  VoiceUrl:", "  VoiceURL:"},
		{"wrong path", false, "        - /incoming\n", "        - /incoming/\n"},
	}},
	{"one URL in every deployment shape", checkOneURL, []mutation{
		{"a function ignores the base path", false,
			"!Join [\"\", [\"https://\", !Ref DomainName, !If [HasDomainBasePath, !Sub \"/${DomainBasePath}\", \"\"]]]\n            - !Ref PublicBaseUrl\n          CORS",
			"!Sub \"https://${DomainName}\"\n            - !Ref PublicBaseUrl\n          CORS"},
		{"a function ignores PublicBaseUrl", false, "            - !Ref PublicBaseUrl\n          CORS", "            - \"\"\n          CORS"},
		{"execute-api off with the domain's first deploy", false, "DisableExecuteApiEndpoint: !If [ExecuteApiOff, true, false]", "DisableExecuteApiEndpoint: !If [HasDomain, true, false]"},
		{"execute-api never off", false, "DisableExecuteApiEndpoint: !If [ExecuteApiOff, true, false]", "DisableExecuteApiEndpoint: false"},
		{"off without the operator's word", false, "  ExecuteApiOff: !And [!Condition HasDomain, !Equals [!Ref ExecuteApiEndpoint, disabled]]", "  ExecuteApiOff: !Condition HasDomain"},
		{"VoiceUrl always on execute-api", false, voiceURLOutput,
			"  VoiceUrl:\n    Description: x\n    Value: !Sub https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/voice\n"},
	}},
	{"routes match the handlers", checkRoutes, []mutation{
		{"method changed", false, "Path: /voice, Method: POST", "Path: /voice, Method: GET"},
		{"step route removed", false, "Path: /incoming/dial-complete, Method: POST", "Path: /incoming/dial, Method: POST"},
		{"a catch-all step route", false, "Path: /incoming/recording-complete, Method: POST", "Path: \"/incoming/{step}\", Method: POST"},
		{"path the handler does not serve", false, "Path: /voice, Method: POST", "Path: /voices, Method: POST"},
		{"REST API event", false, "Voice:\n          Type: HttpApi", "Voice:\n          Type: Api"},
		{"another API", false, "{ApiId: !Ref HttpApi, Path: /voice", "{ApiId: !Ref OtherApi, Path: /voice"},
	}},
	{"handlers serve the routes", checkHandlersServe, []mutation{
		{"unserved path", false, "Path: /voice, Method: POST", "Path: /voices, Method: POST"},
		{"unserved step", false, "Path: /incoming/recording-complete,", "Path: /incoming/recording-done,"},
	}},
	{"every route throttled, /token apart from the webhooks", checkThrottling, []mutation{
		{"no default route settings", false, "      DefaultRouteSettings:\n        ThrottlingBurstLimit: !Ref WebhookThrottleBurst\n        ThrottlingRateLimit: !Ref WebhookThrottleRate\n", ""},
		{"a route without its settings", false, "        \"POST /voice\": {ThrottlingBurstLimit: !Ref WebhookThrottleBurst, ThrottlingRateLimit: !Ref WebhookThrottleRate}\n", ""},
		{"/token on the webhooks' limits", false, "\"GET /token\": {ThrottlingBurstLimit: !Ref TokenThrottleBurst, ThrottlingRateLimit: !Ref TokenThrottleRate}",
			"\"GET /token\": {ThrottlingBurstLimit: !Ref WebhookThrottleBurst, ThrottlingRateLimit: !Ref WebhookThrottleRate}"},
		{"a webhook on /token's limits", false, "\"POST /incoming\": {ThrottlingBurstLimit: !Ref WebhookThrottleBurst, ThrottlingRateLimit: !Ref WebhookThrottleRate}",
			"\"POST /incoming\": {ThrottlingBurstLimit: !Ref TokenThrottleBurst, ThrottlingRateLimit: !Ref WebhookThrottleRate}"},
		{"settings for a route that does not exist", false, "        \"POST /voice\": {", "        \"POST /voices\": {"},
	}},
	{"parameters are guarded", checkParameters, []mutation{
		{"rate 0 accepted", false, "  WebhookThrottleRate:\n    Type: Number\n    Default: 50\n    MinValue: 1\n", "  WebhookThrottleRate:\n    Type: Number\n    Default: 50\n    MinValue: 0\n"},
		{"no maximum", false, "  TokenThrottleBurst:\n    Type: Number\n    Default: 40\n    MinValue: 1\n    MaxValue: 5000\n", "  TokenThrottleBurst:\n    Type: Number\n    Default: 40\n    MinValue: 1\n"},
		{"URL unguarded", false, "    AllowedPattern: \"^$|^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9_.~-]+)*$\"\n", ""},
		{"URL with a trailing slash accepted", false, "(/[A-Za-z0-9_.~-]+)*$\"\n    ConstraintDescription: must be empty or an https URL", "(/[A-Za-z0-9_.~-]*)*$\"\n    ConstraintDescription: must be empty or an https URL"},
		{"any certificate ARN", false, "\"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$\"", "\".*\""},
		{"base path with a leading slash", false, "AllowedPattern: \"^$|^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$\"", "AllowedPattern: \"^$|^/?[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$\""},
		{"domain without its certificate", false, "  DomainNeedsCertificate:\n", "  DomainMayLackCertificate:\n"},
	}},
	{"API access log", checkAccessLog, []mutation{
		{"no access log", false, "      AccessLogSettings:\n        DestinationArn: !GetAtt ApiAccessLogGroup.Arn\n", "      AccessLogSettings:\n        DestinationArn: !GetAtt TokenLogGroup.Arn\n"},
		{"status not logged", false, "\"status\":$context.status,", ""},
		{"integration error not logged", false, "\"integrationError\":\"$context.integrationErrorMessage\",", ""},
		{"status as a string", false, "\"status\":$context.status,", "\"status\":\"$context.status\","},
	}},
	{"logs expire", checkLogRetention, []mutation{
		{"no retention", false, "      RetentionInDays: !Ref LogRetentionDays\n", ""},
		{"function logs to its default group", false, "      LoggingConfig:\n        LogGroup: !Ref VoiceLogGroup\n", ""},
	}},
	{"parameter defaults are the code's", checkDefaults, []mutation{
		{"another default prefix", false, "    Default: twilio-voice/\n", "    Default: tenants/\n"},
		{"a function with its own prefix", false, "SECRET_PREFIX: !Ref SecretPrefix", "SECRET_PREFIX: other/"},
		{"another default rate", false, "    Default: 30\n    MinValue: 0\n", "    Default: 20\n    MinValue: 0\n"},
		{"another cold-fetch rate", false, "    Default: 10\n    MinValue: 1\n    MaxValue: 1000\n", "    Default: 20\n    MinValue: 1\n    MaxValue: 1000\n"},
		{"another recording retention", false, "  RecordingRetentionDays:\n    Type: Number\n    Default: 30\n", "  RecordingRetentionDays:\n    Type: Number\n    Default: 60\n"},
	}},
	{"alarms", checkAlarms, []mutation{
		{"no SignatureRejected alarm", false, "MetricName: SignatureRejected", "MetricName: SignatureFailed"},
		{"no Errors alarm for voice", false, "Value: !Ref VoiceFunction}", "Value: !Ref TokenFunction}"},
		{"Errors alarm on another namespace", false, "Namespace: AWS/Lambda\n      MetricName: Errors\n      Dimensions: [{Name: FunctionName, Value: !Ref IncomingFunction}]", "Namespace: BubbleTwilioVoice\n      MetricName: Errors\n      Dimensions: [{Name: FunctionName, Value: !Ref IncomingFunction}]"},
		{"no Throttles alarm for incoming", false, "MetricName: Throttles\n      Dimensions: [{Name: FunctionName, Value: !Ref IncomingFunction}]", "MetricName: Invocations\n      Dimensions: [{Name: FunctionName, Value: !Ref IncomingFunction}]"},
		{"duration alarm past the timeout", false, "      Threshold: 4000\n", "      Threshold: 6000\n"},
		{"no 5xx rate alarm", false, "MetricName: 5xx,", "MetricName: 5XXError,"},
		{"no 429 alarm", false, "      MetricName: ApiThrottled\n      Statistic: Sum", "      MetricName: ApiThrottledX\n      Statistic: Sum"},
		{"an alarm that notifies nobody", false, "      AlarmActions: !If [HasAlarmEmail, [!Ref AlarmTopic], !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]]\n", ""},
		{"alarm e-mail ignored", false, "      AlarmActions: !If [HasAlarmEmail, [!Ref AlarmTopic], !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]]\n", "      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n"},
		{"no Errors alarm for deliver", false, "Value: !Ref DeliverFunction}", "Value: !Ref EventsFunction}"},
	}},
	{"dead-letter alarm", checkDeadLetterAlarm, []mutation{
		{"dead-letter alarm on the events queue", false, "Dimensions: [{Name: QueueName, Value: !GetAtt EventsDeadLetterQueue.QueueName}]", "Dimensions: [{Name: QueueName, Value: !GetAtt EventsQueue.QueueName}]"},
		{"dead-letter alarm at 5", false, "      Threshold: 0\n      ComparisonOperator: GreaterThanThreshold", "      Threshold: 5\n      ComparisonOperator: GreaterThanThreshold"},
		{"dead-letter alarm on another metric", false, "MetricName: ApproximateNumberOfMessagesVisible", "MetricName: NumberOfMessagesSent"},
	}},
	{"events queue: encrypted, retries for 24 h, then the dead-letter queue", checkQueues, []mutation{
		{"no encryption", false, "      SqsManagedSseEnabled: true\n      # At least 6", "      # At least 6"},
		{"dead-letter queue unencrypted", false, "      SqsManagedSseEnabled: true\n      # The most SQS keeps", "      # The most SQS keeps"},
		{"no redrive policy", false, "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt EventsDeadLetterQueue.Arn\n        maxReceiveCount: 25\n", ""},
		{"redrive to itself", false, "deadLetterTargetArn: !GetAtt EventsDeadLetterQueue.Arn", "deadLetterTargetArn: !GetAtt EventsQueue.Arn"},
		{"too few receives for the schedule", false, "maxReceiveCount: 25", "maxReceiveCount: 5"},
		{"retention shorter than the schedule", false, "MessageRetentionPeriod: 345600", "MessageRetentionPeriod: 86400"},
		{"dead letters kept less than the queue", false, "MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 172800"},
		{"visibility under 6 x the deliver timeout", false, "VisibilityTimeout: 1080", "VisibilityTimeout: 540"},
	}},
	{"deliver: its alias fed by the events queue with partial batch responses", checkDelivery, []mutation{
		{"no partial batch responses", false, "      FunctionResponseTypes: [ReportBatchItemFailures]\n", ""},
		{"fed by the dead-letter queue", false, "      EventSourceArn: !GetAtt EventsQueue.Arn", "      EventSourceArn: !GetAtt EventsDeadLetterQueue.Arn"},
		{"a timeout shorter than a recording download", false, "      Timeout: 180\n", "      Timeout: 90\n"},
		{"feeds the function, not its alias", false, "      FunctionName: !Ref DeliverFunction.Alias", "      FunctionName: !Ref DeliverFunction"},
		{"a SAM SQS event again", false, "        Role: !GetAtt DeliverDeployRole.Arn\n", "        Role: !GetAtt DeliverDeployRole.Arn\n      Events:\n        Queue:\n          Type: SQS\n          Properties: {Queue: !GetAtt EventsQueue.Arn}\n"},
		{"no dead-letter queue given", false, "          EVENTS_DLQ_URL: !Ref EventsDeadLetterQueue\n", ""},
		{"events function sends nowhere", false, "          EVENTS_QUEUE_URL: !Ref EventsQueue\n          RECORDINGS_BUCKET: !Ref RecordingsBucket\n          LINK_KEY_SECRET_ARN: !Ref RecordingLinkKey\n          RECORDING_RETENTION_DAYS: !Ref RecordingRetentionDays\n      LoggingConfig:\n        LogGroup: !Ref EventsLogGroup", "          RECORDINGS_BUCKET: !Ref RecordingsBucket\n          LINK_KEY_SECRET_ARN: !Ref RecordingLinkKey\n          RECORDING_RETENTION_DAYS: !Ref RecordingRetentionDays\n      LoggingConfig:\n        LogGroup: !Ref EventsLogGroup"},
	}},
	{"recordings bucket: private, encrypted, expiring", checkBucket, []mutation{
		{"public ACLs allowed", false, "        BlockPublicAcls: true", "        BlockPublicAcls: false"},
		{"public policies allowed", false, "        RestrictPublicBuckets: true", "        RestrictPublicBuckets: false"},
		{"no encryption", false, "      BucketEncryption:\n        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault:\n              SSEAlgorithm: AES256\n", ""},
		{"no expiry", false, "            ExpirationInDays: !Ref RecordingRetentionDays\n", ""},
		{"expiry rule disabled", false, "            Status: Enabled", "            Status: Disabled"},
		{"fixed expiry", false, "            ExpirationInDays: !Ref RecordingRetentionDays", "            ExpirationInDays: 365"},
		{"ACLs enabled", false, "ObjectOwnership: BucketOwnerEnforced", "ObjectOwnership: ObjectWriter"},
		{"link validity differs from retention", false, "          RECORDING_RETENTION_DAYS: !Ref RecordingRetentionDays\n      LoggingConfig:\n        LogGroup: !Ref DeliverLogGroup", "          RECORDING_RETENTION_DAYS: 365\n      LoggingConfig:\n        LogGroup: !Ref DeliverLogGroup"},
	}},
	{"deployments: live alias, gradual shift, rolled back by the Errors alarm", checkDeployments, []mutation{
		{"no alias", false, "      AutoPublishAlias: live\n      DeploymentPreference:\n        Type: !Ref DeploymentType\n        Alarms: [!Ref VoiceErrorsAlarm]\n        Role: !GetAtt DeployRole.Arn\n", ""},
		{"all at once by default", false, "    Default: Canary10Percent5Minutes\n", "    Default: AllAtOnce\n"},
		{"fixed type", false, "        Type: !Ref DeploymentType\n        Alarms: [!Ref IncomingErrorsAlarm]", "        Type: Linear10PercentEvery1Minute\n        Alarms: [!Ref IncomingErrorsAlarm]"},
		{"no rollback alarm", false, "        Alarms: [!Ref EventsErrorsAlarm]\n", ""},
		{"another function's alarm", false, "        Alarms: [!Ref EventsErrorsAlarm]", "        Alarms: [!Ref TokenErrorsAlarm]"},
		{"SAM's CodeDeploy role", false, "        Alarms: [!Ref TokenErrorsAlarm]\n        Role: !GetAtt DeployRole.Arn\n", "        Alarms: [!Ref TokenErrorsAlarm]\n"},
		{"a role that may not shift this alias", false, "        Alarms: [!Ref DeliverErrorsAlarm]\n        Role: !GetAtt DeliverDeployRole.Arn", "        Alarms: [!Ref DeliverErrorsAlarm]\n        Role: !GetAtt DeployRole.Arn"},
	}},
	{"events alarms: an app down, a backlog", checkEventAlarms, []mutation{
		{"retrying alarm on the age", false, "      MetricName: ApproximateNumberOfMessagesNotVisible", "      MetricName: ApproximateAgeOfOldestMessage"},
		{"retrying alarm on the maximum", false, "      MetricName: ApproximateNumberOfMessagesNotVisible\n      Dimensions: [{Name: QueueName, Value: !GetAtt EventsQueue.QueueName}]\n      Statistic: Minimum", "      MetricName: ApproximateNumberOfMessagesNotVisible\n      Dimensions: [{Name: QueueName, Value: !GetAtt EventsQueue.QueueName}]\n      Statistic: Maximum"},
		{"backlog after an hour", false, "      Threshold: 600\n", "      Threshold: 3600\n"},
	}},
	{"outputs for the call events", checkEventOutputs, []mutation{
		{"no dead-letter queue output", false, "  EventsDeadLetterQueueUrl:\n", "  DeadLetterQueue:\n"},
		{"no recordings bucket output (subaccounts close)", false, "  RecordingsBucketName:\n", "  RecordingsBucket2:\n"},
		{"no link key output (the rotation recipe)", false, "  RecordingLinkKeySecret:\n", "  LinkKey:\n"},
		{"status callback at the wrong path", false, "        - /events/call-status", "        - /events/status"},
	}},
}

// TestTemplate runs every check on the real template and Makefile.
func TestTemplate(t *testing.T) {
	tmpl, mk := readRepo(t)
	s, err := loadStack(tmpl, mk)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(s); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestChecksCatchMutations proves each check can fail: on every mutated
// copy, which must still parse, the check must report an error.
func TestChecksCatchMutations(t *testing.T) {
	t.Parallel() // the slow ones (Python, many parses) run side by side
	tmpl, mk := readRepo(t)
	for _, c := range checks {
		if len(c.mutations) == 0 {
			t.Errorf("check %q has no mutation showing it can fail", c.name)
		}
		for _, m := range c.mutations {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				mt, mm := tmpl, mk
				target := &mt
				if m.makefile {
					target = &mm
				}
				if !strings.Contains(*target, m.old) {
					t.Fatalf("mutation no longer applies: %q not found; update it", m.old)
				}
				*target = strings.Replace(*target, m.old, m.new, 1)
				s, err := loadStack(mt, mm)
				if err != nil {
					t.Fatalf("mutated copy does not parse, so it proves nothing; keep mutations valid: %v", err)
				}
				if err := c.check(s); err == nil {
					t.Errorf("check passed on a template with %s", m.name)
				} else {
					t.Logf("caught: %v", err)
				}
			})
		}
	}
}

type fn = *serverlessFunction

// checkFunctions runs f on every function, joining the errors.
func checkFunctions(f func(id string, fun fn) error) func(*stack) error {
	return func(s *stack) error {
		fns := s.tmpl.GetAllServerlessFunctionResources()
		if len(fns) == 0 {
			return errors.New("no AWS::Serverless::Function in the template")
		}
		var errs []error
		for _, id := range sortedKeys(fns) {
			if err := f(id, fns[id]); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

// costTag is the tag every resource that takes tags carries, for cost
// allocation (activate it in the Billing console).
var costTag = map[string]any{"app": "bubble-twilio-voice"}

// checkGlobals allows Globals only to tag the functions and the API (and,
// with PropagateTags, what SAM generates for them): goformation does not
// merge Globals, so anything else there would be invisible to these checks.
func checkGlobals(s *stack) error {
	want := fmt.Sprint(map[string]any{
		"Function": map[string]any{"Tags": costTag, "PropagateTags": true},
		"HttpApi":  map[string]any{"Tags": costTag, "PropagateTags": true},
	})
	if got := fmt.Sprint(s.raw["Globals"]); got != want {
		return fmt.Errorf("Globals %s, want only the cost-allocation tag, propagated: %s", got, want)
	}
	return nil
}

// functionName is the package name of a function: its logical ID without
// "Function", lower-cased.
func functionName(id string) (string, error) {
	name, ok := strings.CutSuffix(id, "Function")
	if !ok || name == "" {
		return "", fmt.Errorf("%s: a function's logical ID must be <Name>Function", id)
	}
	return strings.ToLower(name), nil
}

// makeTarget returns the recipe of a Makefile rule "name:" (its tab-indented
// lines), and whether there is one.
func makeTarget(makefile, name string) (string, bool) {
	lines := strings.Split(makefile, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, name+":") {
			continue
		}
		var recipe []string
		for _, r := range lines[i+1:] {
			if !strings.HasPrefix(r, "\t") {
				break
			}
			recipe = append(recipe, r)
		}
		return strings.Join(recipe, "\n"), true
	}
	return "", false
}

func checkFunctionsBuild(s *stack) error {
	return checkFunctions(func(id string, _ fn) error {
		name, err := functionName(id)
		if err != nil {
			return err
		}
		var errs []error
		recipe, ok := makeTarget(s.makefile, "build-"+id)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no build-%s target in the Makefile (sam build calls it)", id, id))
		} else if !regexp.MustCompile(`-o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/` + regexp.QuoteMeta(name) + `(\s|$)`).MatchString(recipe) {
			errs = append(errs, fmt.Errorf("%s: build-%s does not build ./functions/%s into $(ARTIFACTS_DIR)/bootstrap:\n%s", id, id, name, recipe))
		} else if !strings.HasPrefix(recipe, "\t$(require-artifacts-dir)\n") || !strings.Contains(s.makefile, "require-artifacts-dir = @test -n \"$(ARTIFACTS_DIR)\" || {") {
			// Run by hand, without SAM's ARTIFACTS_DIR, it would write /bootstrap.
			errs = append(errs, fmt.Errorf("%s: build-%s does not first stop when ARTIFACTS_DIR is not set:\n%s", id, id, recipe))
		}
		if !hasGoMain(filepath.Join(s.root, "functions", name)) {
			errs = append(errs, fmt.Errorf("%s: no main package in functions/%s", id, name))
		}
		return errors.Join(errs...)
	})(s)
}

// hasGoMain reports whether dir holds a non-test Go file of package main.
func hasGoMain(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && regexp.MustCompile(`(?m)^package main\b`).Match(b) {
			return true
		}
	}
	return false
}

// statement is one Allow statement: its actions (sorted) on one resource.
type statement struct {
	actions   string // comma-joined, sorted
	resource  string
	condition string // the Condition block as fmt.Sprint prints it; "" for none
}

// stackOnly is the condition on reading tenant secrets (issue 20 item 7):
// a secret tagged for another stack is denied, an untagged one (written by
// an older release, e.g. the first stack's) is still read. Secrets Manager
// supports aws:ResourceTag/${TagKey} on GetSecretValue
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
var stackOnly = fmt.Sprint(map[string]any{"StringEqualsIfExists": map[string]any{"aws:ResourceTag/bubble-twilio-voice:stack": "${AWS::StackName}"}})

// Resources the statements may name, as the checks see them (Fn::Sub text,
// GetAtt:Resource.Attribute, a Ref to a resource as its logical ID).
const (
	eventsQueueARN = "GetAtt:EventsQueue.Arn"
	deadLetterARN  = "GetAtt:EventsDeadLetterQueue.Arn"
	bucketObjects  = "${RecordingsBucket.Arn}/*"
	bucketARN      = "GetAtt:RecordingsBucket.Arn"
	linkKey        = "RecordingLinkKey"
)

var tenantSecrets = statement{"secretsmanager:GetSecretValue", secretARN, stackOnly}

// wantPolicies is every function's whole policy besides writing its own
// log group: each may read its tenants' secrets and nothing else, except
// what call events need: incoming and events send to the events queue only;
// events reads recordings (to presign) and the link key; deliver polls the
// events queue (its event source mapping runs with its role), sends to the
// dead-letter queue only, reads and writes only the bucket's objects, and
// starts and reads Transcribe jobs, which have no resource-level
// permissions ("*": docs/transcripts.md).
var wantPolicies = map[string][]statement{
	"token":    {tenantSecrets},
	"voice":    {tenantSecrets},
	"calls":    {tenantSecrets}, // its Twilio calls use the tenant's own API key
	"incoming": {tenantSecrets, {"sqs:SendMessage", eventsQueueARN, ""}},
	"events": {tenantSecrets, {"secretsmanager:GetSecretValue", linkKey, ""}, {"sqs:SendMessage", eventsQueueARN, ""},
		{"s3:GetObject", bucketObjects, ""}},
	"deliver": {tenantSecrets, {"secretsmanager:GetSecretValue", linkKey, ""},
		{"sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:ReceiveMessage", eventsQueueARN, ""},
		{"sqs:SendMessage", deadLetterARN, ""}, {"s3:GetObject,s3:PutObject", bucketObjects, ""}, {"s3:ListBucket", bucketARN, ""},
		{"transcribe:GetTranscriptionJob,transcribe:StartTranscriptionJob", "*", ""}},
}

// kmsPolicyArns is the one managed policy a function role may have: the
// template's own kms:Decrypt policy, only with SecretsKmsKeyArn (sam_test.go
// checks its statement).
var kmsPolicyArns = fmt.Sprint(map[string]any{"Fn::If": []any{"HasKmsKey", []any{map[string]any{"Ref": "TenantSecretsKeyPolicy"}}, map[string]any{"Ref": "AWS::NoValue"}}})

// lambdaTrust is the trust policy of a function role: Lambda may assume it.
var lambdaTrust = fmt.Sprint([]any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}})

// checkPolicy: each function runs as its own role, <Function>Role, of this
// template rather than the one SAM would make (which adds
// AWSLambdaBasicExecutionRole, logs on every log group, and for a queue
// AWSLambdaSQSQueueExecutionRole, every queue). Only Lambda may assume it;
// its inline Allow statements are exactly the function's wantPolicies plus
// writing its own log group; its only managed policy is the template's KMS
// one, with SecretsKmsKeyArn. It reads the generic document: goformation's
// Policies union decodes a list of documents into several variants at once.
func checkPolicy(s *stack) error {
	return checkFunctions(func(id string, f fn) error {
		name, err := functionName(id)
		if err != nil {
			return err
		}
		want, ok := wantPolicies[name]
		if !ok {
			return fmt.Errorf("%s: no wantPolicies entry in this test; add one", id)
		}
		logGroup := strings.TrimSuffix(id, "Function") + "LogGroup"
		want = append([]statement{{"logs:CreateLogStream,logs:PutLogEvents", "GetAtt:" + logGroup + ".Arn", ""}}, want...)
		roleID := id + "Role"
		if got := str(f.Role); got != "GetAtt:"+roleID+".Arn" {
			return fmt.Errorf("%s: Role %q, want its own role %s (SAM's would add managed policies on every log group and queue)", id, got, roleID)
		}
		if t := s.resourceType(roleID); t != "AWS::IAM::Role" {
			return fmt.Errorf("%s: %s is %q, want an AWS::IAM::Role", id, roleID, t)
		}
		raw, _ := s.rawResource(roleID)["Properties"].(map[string]any)
		var errs []error
		if got := fmt.Sprint(dig(raw, "AssumeRolePolicyDocument", "Statement")); got != lambdaTrust {
			errs = append(errs, fmt.Errorf("%s: trusts %s, want Lambda only", roleID, got))
		}
		if m := raw["ManagedPolicyArns"]; m != nil && fmt.Sprint(m) != kmsPolicyArns {
			errs = append(errs, fmt.Errorf("%s: managed policies %v, want none but TenantSecretsKeyPolicy with SecretsKmsKeyArn", roleID, m))
		}
		for k := range raw {
			if k != "AssumeRolePolicyDocument" && k != "ManagedPolicyArns" && k != "Policies" && k != "Tags" {
				errs = append(errs, fmt.Errorf("%s: has %s", roleID, k))
			}
		}
		policies, _ := s.resourceProps(roleID)["Policies"].([]any)
		if len(policies) == 0 {
			return errors.Join(append(errs, fmt.Errorf("%s: no inline policy; %s cannot read its tenants", roleID, id))...)
		}
		var got []statement
		for i, p := range policies {
			statements, _ := dig(p, "PolicyDocument", "Statement").([]any)
			if len(statements) == 0 {
				errs = append(errs, fmt.Errorf("%s: policy %d is %v, want an inline policy document", roleID, i, p))
				continue
			}
			for j, rs := range statements {
				st, _ := rs.(map[string]any)
				for k := range st {
					if k != "Effect" && k != "Action" && k != "Resource" && k != "Sid" && k != "Condition" {
						errs = append(errs, fmt.Errorf("%s: statement %d has %s; only Effect, Action, Resource, Condition are allowed", roleID, j, k))
					}
				}
				condition := ""
				if c, ok := st["Condition"]; ok {
					condition = fmt.Sprint(c)
				}
				if st["Effect"] != "Allow" {
					errs = append(errs, fmt.Errorf("%s: statement %d Effect %v, want Allow", roleID, j, st["Effect"]))
				}
				actions := stringsOf(st["Action"])
				sort.Strings(actions)
				for _, r := range stringsOf(st["Resource"]) {
					got = append(got, statement{strings.Join(actions, ","), r, condition})
				}
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				errs = append(errs, fmt.Errorf("%s: allows %s on %s (condition %q), which it must not", id, g.actions, g.resource, g.condition))
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				errs = append(errs, fmt.Errorf("%s: does not allow %s on %s (condition %q), which it needs", id, w.actions, w.resource, w.condition))
			}
		}
		return errors.Join(errs...)
	})(s)
}

// stringsOf reads an IAM field that may be a string or a list of strings.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func checkOutputs(s *stack) error {
	var errs []error
	for name, path := range map[string]string{"TokenUrl": "/token", "VoiceUrl": "/voice", "IncomingUrl": "/incoming"} {
		o, ok := s.tmpl.Outputs[name]
		if !ok {
			errs = append(errs, fmt.Errorf("no output %s", name))
			continue
		}
		v, _ := o.Value.(string)
		want := "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}" + path
		if v != want {
			errs = append(errs, fmt.Errorf("output %s = %q, want %q", name, v, want))
		}
	}
	return errors.Join(errs...)
}

// routes returns each function's HttpApi routes, "METHOD /path", sorted,
// and an error for any event that is not an HttpApi event on the
// template's HttpApi.
func routes(s *stack) (map[string][]string, error) {
	out := map[string][]string{}
	var errs []error
	for id, f := range s.tmpl.GetAllServerlessFunctionResources() {
		name, err := functionName(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for evName, ev := range f.Events {
			if ev.Type == "SQS" && name == "deliver" {
				continue // checkDelivery
			}
			if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				errs = append(errs, fmt.Errorf("%s: event %s is %s, want HttpApi", id, evName, ev.Type))
				continue
			}
			e := ev.Properties.HttpApiEvent
			if api := str(e.ApiId); api == "" || s.resourceType(api) != "AWS::Serverless::HttpApi" {
				errs = append(errs, fmt.Errorf("%s: event %s ApiId %q is not the template's HttpApi", id, evName, api))
			}
			out[name] = append(out[name], strings.ToUpper(str(e.Method))+" "+str(e.Path))
		}
		sort.Strings(out[name])
	}
	return out, errors.Join(errs...)
}

func checkRoutes(s *stack) error {
	got, err := routes(s)
	errs := []error{err}
	for name, want := range expectedRoutes {
		if !slices.Equal(got[name], want) {
			errs = append(errs, fmt.Errorf("%s routes %v, want %v", name, got[name], want))
		}
	}
	for name := range got {
		if _, ok := expectedRoutes[name]; !ok {
			errs = append(errs, fmt.Errorf("function %s has routes %v but this test expects none; add it to expectedRoutes", name, got[name]))
		}
	}
	for name, paths := range servedPaths {
		for _, p := range paths {
			if !slices.ContainsFunc(got[name], func(r string) bool { return routeMatches(r, p) }) {
				errs = append(errs, fmt.Errorf("%s serves %s but no route of it reaches that path", name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// routeMatches reports whether route's path ("POST /incoming/{step}")
// matches path, a {param} matching one non-empty segment.
func routeMatches(route, path string) bool {
	_, rp, _ := strings.Cut(route, " ")
	rs, ps := strings.Split(rp, "/"), strings.Split(path, "/")
	if len(rs) != len(ps) {
		return false
	}
	for i := range rs {
		if strings.HasPrefix(rs[i], "{") && strings.HasSuffix(rs[i], "}") && !strings.HasSuffix(rs[i], "+}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if rs[i] != ps[i] {
			return false
		}
	}
	return true
}

// checkHandlersServe sends each route's method and path (parameters filled
// with every served path they match) to the function's real handler, which
// must not answer 404 or 405.
func checkHandlersServe(s *stack) error {
	got, err := routes(s)
	errs := []error{err}
	for name, rs := range got {
		build, ok := handlers[name]
		if !ok {
			errs = append(errs, fmt.Errorf("function %s: no handler in this test; add it to handlers", name))
			continue
		}
		h := build(httpapi.Deps{Store: tenant.NewMemoryStore()})
		for _, r := range rs {
			method, p, _ := strings.Cut(r, " ")
			paths := []string{p}
			if strings.Contains(p, "{") {
				paths = nil
				for _, all := range servedPaths {
					for _, sp := range all {
						if routeMatches(r, sp) {
							paths = append(paths, sp)
						}
					}
				}
				if len(paths) == 0 {
					errs = append(errs, fmt.Errorf("%s: route %s matches no path the handlers serve", name, r))
				}
			}
			for _, path := range paths {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(method, "https://api.example.com"+path, strings.NewReader("AccountSid=AC0123456789abcdef0123456789abcdef"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				h.ServeHTTP(rec, req)
				if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
					errs = append(errs, fmt.Errorf("%s: route %s: the handler answers %s %s with %d", name, r, method, path, rec.Code))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func checkLogRetention(s *stack) error {
	var errs []error
	groups := s.tmpl.GetAllLogsLogGroupResources()
	for _, id := range sortedKeys(groups) {
		if r := groups[id].RetentionInDays; r == nil || *r <= 0 {
			errs = append(errs, fmt.Errorf("log group %s has no RetentionInDays", id))
		}
	}
	// Without LoggingConfig, Lambda logs to /aws/lambda/<name>, created on
	// first use with no expiry.
	for _, id := range sortedKeys(s.tmpl.GetAllServerlessFunctionResources()) {
		lc, _ := s.resourceProps(id)["LoggingConfig"].(map[string]any)
		g, _ := lc["LogGroup"].(string)
		if _, ok := groups[g]; !ok {
			errs = append(errs, fmt.Errorf("%s: LoggingConfig.LogGroup %q is not a log group of this template", id, g))
		}
	}
	return errors.Join(errs...)
}

// checkDefaults keeps the template's parameter defaults equal to the
// defaults the code applies when the variable is unset, which are their one
// definition (tenant.DefaultSecretPrefix, config.Load), so a stack deployed
// with defaults and the CLI run without SECRET_PREFIX agree; and checks every
// function reads its secrets under that prefix.
func checkDefaults(s *stack) error {
	unset, err := config.Load(func(string) string { return "" })
	if err != nil {
		return err
	}
	var errs []error
	for name, code := range map[string]string{
		"SecretPrefix":               tenant.DefaultSecretPrefix,
		"TokenRatePerIdentity":       strconv.Itoa(unset.TokenRatePerIdentity),
		"SecretColdFetchesPerSecond": strconv.Itoa(unset.SecretColdFetchesPerSecond),
		"RecordingRetentionDays":     strconv.Itoa(unset.Events.RecordingRetentionDays),
	} {
		p, ok := s.tmpl.Parameters[name]
		if !ok {
			errs = append(errs, fmt.Errorf("no parameter %s", name))
		} else if got := fmt.Sprint(p.Default); got != code {
			errs = append(errs, fmt.Errorf("parameter %s Default %q, want the code's default %q", name, got, code))
		}
	}
	// Parameter Refs resolve to their defaults (see processor).
	prefix := fmt.Sprint(s.tmpl.Parameters["SecretPrefix"].Default)
	errs = append(errs, checkFunctions(func(id string, f fn) error {
		var got string
		if f.Environment != nil {
			got = f.Environment.Variables["SECRET_PREFIX"]
		}
		return want(id, "SECRET_PREFIX", got, prefix)
	})(s))
	return errors.Join(errs...)
}

func want(id, field, got, want string) error {
	if got != want {
		return fmt.Errorf("%s: %s %q, want %q", id, field, got, want)
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func deref(p *int) any {
	if p == nil {
		return "(none)"
	}
	return *p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSAMBuildTargetsNeedArtifactsDir runs each build-<Function> target the
// way a person might, outside sam build: it must stop, saying why, instead
// of writing /bootstrap. (GO=false: should the guard be gone, nothing is
// built anywhere.)
func TestSAMBuildTargetsNeedArtifactsDir(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	_, mk := readRepo(t)
	targets := regexp.MustCompile(`(?m)^(build-[A-Za-z]+Function):`).FindAllStringSubmatch(mk, -1)
	if len(targets) == 0 {
		t.Fatal("no build-<Function> targets in the Makefile")
	}
	for _, m := range targets {
		t.Run(m[1], func(t *testing.T) {
			cmd := exec.Command("make", "-s", "-C", root, m[1], "GO=false")
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "ARTIFACTS_DIR=") }), "MAKEFLAGS=")
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "ARTIFACTS_DIR is not set") {
				t.Errorf("make %s without ARTIFACTS_DIR: %v\n%s", m[1], err, out)
			}
		})
	}
}

// checkDeadLetterAlarm: any dead-lettered event alarms, because someone has
// to fix the app and redrive.
func checkDeadLetterAlarm(s *stack) error {
	for _, a := range s.tmpl.GetAllCloudWatchAlarmResources() {
		if str(a.Namespace) != "AWS/SQS" || str(a.MetricName) != "ApproximateNumberOfMessagesVisible" || len(a.Dimensions) != 1 ||
			a.Dimensions[0].Name != "QueueName" || a.Dimensions[0].Value != "GetAtt:EventsDeadLetterQueue.QueueName" || a.Threshold == nil {
			continue
		}
		switch {
		case a.ComparisonOperator == "GreaterThanThreshold" && *a.Threshold == 0,
			a.ComparisonOperator == "GreaterThanOrEqualToThreshold" && *a.Threshold == 1:
			return nil
		}
	}
	return errors.New("no alarm on the dead-letter queue's ApproximateNumberOfMessagesVisible > 0")
}

// hasHTTPEvents reports whether f is behind the HTTP API.
func hasHTTPEvents(f fn) bool {
	for _, ev := range f.Events {
		if ev.Type == "HttpApi" {
			return true
		}
	}
	return false
}

// number reads a numeric property (YAML numbers, or strings).
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		n, err := strconv.ParseFloat(v, 64)
		return n, err == nil
	}
	return 0, false
}

// Queue settings the delivery's schedule needs (shared/events/retry.go):
// 12 receives over about 27 h.
const (
	minMaxReceiveCount = 15
	minQueueRetention  = 2 * 24 * 3600
)

// checkQueues: both queues encrypted; the events queue redrives to the
// dead-letter queue after enough receives for the retry schedule, keeps
// messages longer than the schedule, hides a received message for at least
// 6 x the deliver function's timeout (Lambda's recommendation); the
// dead-letter queue keeps messages at least as long.
func checkQueues(s *stack) error {
	q, dlq := s.resourceProps("EventsQueue"), s.resourceProps("EventsDeadLetterQueue")
	if q == nil || dlq == nil || s.resourceType("EventsQueue") != "AWS::SQS::Queue" || s.resourceType("EventsDeadLetterQueue") != "AWS::SQS::Queue" {
		return errors.New("no AWS::SQS::Queue EventsQueue and EventsDeadLetterQueue")
	}
	var errs []error
	for id, p := range map[string]map[string]any{"EventsQueue": q, "EventsDeadLetterQueue": dlq} {
		if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
			errs = append(errs, fmt.Errorf("%s is not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)", id))
		}
	}
	rp, _ := q["RedrivePolicy"].(map[string]any)
	if rp["deadLetterTargetArn"] != deadLetterARN {
		errs = append(errs, fmt.Errorf("EventsQueue RedrivePolicy target %v, want %s", rp["deadLetterTargetArn"], deadLetterARN))
	}
	if n, ok := number(rp["maxReceiveCount"]); !ok || n < minMaxReceiveCount {
		errs = append(errs, fmt.Errorf("EventsQueue maxReceiveCount %v, want at least %d (the schedule's 12 receives and a margin)", rp["maxReceiveCount"], minMaxReceiveCount))
	}
	qr, _ := number(q["MessageRetentionPeriod"])
	dr, _ := number(dlq["MessageRetentionPeriod"])
	if qr < minQueueRetention {
		errs = append(errs, fmt.Errorf("EventsQueue MessageRetentionPeriod %v s, want at least %d (longer than the retry schedule)", qr, minQueueRetention))
	}
	if dr < qr || dr < 7*24*3600 {
		errs = append(errs, fmt.Errorf("EventsDeadLetterQueue MessageRetentionPeriod %v s, want at least a week and the events queue's", dr))
	}
	vis, _ := number(q["VisibilityTimeout"])
	timeout, _ := number(s.resourceProps("DeliverFunction")["Timeout"])
	if timeout == 0 || vis < 6*timeout {
		errs = append(errs, fmt.Errorf("EventsQueue VisibilityTimeout %v s, want at least 6 x DeliverFunction's Timeout %v s", vis, timeout))
	}
	return errors.Join(errs...)
}

// messageMargin is what a deliver invocation needs besides its longest
// message: the tenant lookup, the upload to S3, delaying the retries.
const messageMargin = 45 * time.Second

// checkDelivery: the live alias of DeliverFunction is fed by EventsQueue,
// through an event source mapping of this template (a SAM SQS event would
// add AWSLambdaSQSQueueExecutionRole, every queue of the account), with
// partial batch responses; it knows both queues; the functions that queue
// events are told the queue.
func checkDelivery(s *stack) error {
	var errs []error
	if evs, _ := s.resourceProps("DeliverFunction")["Events"].(map[string]any); len(evs) > 0 {
		errs = append(errs, fmt.Errorf("DeliverFunction has SAM events %v; its queue is DeliverQueueMapping's", slices.Sorted(maps.Keys(evs))))
	}
	var mappings []string
	for _, id := range s.rawResourcesOfType("AWS::Lambda::EventSourceMapping") {
		props := s.resourceProps(id)
		if props["FunctionName"] != "DeliverFunction.Alias" {
			errs = append(errs, fmt.Errorf("event source mapping %s feeds %v, want DeliverFunction's alias (!Ref DeliverFunction.Alias)", id, props["FunctionName"]))
			continue
		}
		mappings = append(mappings, id)
		if props["EventSourceArn"] != eventsQueueARN {
			errs = append(errs, fmt.Errorf("%s reads %v, want %s", id, props["EventSourceArn"], eventsQueueARN))
		}
		if frt := stringsOf(props["FunctionResponseTypes"]); !slices.Equal(frt, []string{"ReportBatchItemFailures"}) {
			errs = append(errs, fmt.Errorf("%s FunctionResponseTypes %v, want [ReportBatchItemFailures]", id, frt))
		}
	}
	if len(mappings) != 1 {
		errs = append(errs, fmt.Errorf("event source mappings to DeliverFunction: %v, want exactly one", mappings))
	}
	// The longest message (a recording download, its upload, the POST)
	// must fit in the function's timeout with room to spare, or every
	// attempt at it runs out of time.
	timeout, _ := number(s.resourceProps("DeliverFunction")["Timeout"])
	if need := recordings.FetchTimeout + events.Timeout + messageMargin; time.Duration(timeout)*time.Second < need {
		errs = append(errs, fmt.Errorf("DeliverFunction Timeout %v s, want at least %v (a recording download, the POST and a margin)", timeout, need))
	}
	env := func(id string) map[string]any {
		e, _ := s.resourceProps(id)["Environment"].(map[string]any)
		v, _ := e["Variables"].(map[string]any)
		return v
	}
	for id, vars := range map[string]map[string]string{
		"DeliverFunction":  {"EVENTS_QUEUE_URL": "EventsQueue", "EVENTS_DLQ_URL": "EventsDeadLetterQueue", "RECORDINGS_BUCKET": "RecordingsBucket", "LINK_KEY_SECRET_ARN": linkKey},
		"EventsFunction":   {"EVENTS_QUEUE_URL": "EventsQueue", "RECORDINGS_BUCKET": "RecordingsBucket", "LINK_KEY_SECRET_ARN": linkKey},
		"IncomingFunction": {"EVENTS_QUEUE_URL": "EventsQueue"},
	} {
		got := env(id)
		for k, want := range vars {
			if got[k] != want {
				errs = append(errs, fmt.Errorf("%s: %s = %v, want a Ref to %s", id, k, got[k], want))
			}
		}
	}
	return errors.Join(errs...)
}

// checkBucket: the recordings bucket blocks public access, encrypts,
// disables ACLs and expires objects after RecordingRetentionDays, the same
// number the functions sign links for.
func checkBucket(s *stack) error {
	b := s.resourceProps("RecordingsBucket")
	if s.resourceType("RecordingsBucket") != "AWS::S3::Bucket" {
		return errors.New("no AWS::S3::Bucket RecordingsBucket")
	}
	var errs []error
	pab, _ := b["PublicAccessBlockConfiguration"].(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if pab[k] != true {
			errs = append(errs, fmt.Errorf("RecordingsBucket PublicAccessBlockConfiguration.%s is %v, want true", k, pab[k]))
		}
	}
	enc, _ := b["BucketEncryption"].(map[string]any)
	rules, _ := enc["ServerSideEncryptionConfiguration"].([]any)
	if len(rules) == 0 {
		errs = append(errs, errors.New("RecordingsBucket has no default encryption"))
	}
	own, _ := b["OwnershipControls"].(map[string]any)
	orules, _ := own["Rules"].([]any)
	if len(orules) != 1 || orules[0].(map[string]any)["ObjectOwnership"] != "BucketOwnerEnforced" {
		errs = append(errs, errors.New("RecordingsBucket OwnershipControls must be BucketOwnerEnforced (no ACLs)"))
	}
	lc, _ := b["LifecycleConfiguration"].(map[string]any)
	lrules, _ := lc["Rules"].([]any)
	expires := false
	for _, r := range lrules {
		rule, _ := r.(map[string]any)
		// A Ref to the parameter becomes its default (30).
		if rule["Status"] == "Enabled" && rule["ExpirationInDays"] == s.paramDefault("RecordingRetentionDays") && rule["Prefix"] == nil && rule["Filter"] == nil {
			expires = true
		}
	}
	if !expires {
		errs = append(errs, errors.New("RecordingsBucket has no enabled lifecycle rule expiring every object after RecordingRetentionDays"))
	}
	for _, id := range []string{"EventsFunction", "DeliverFunction"} {
		e, _ := s.resourceProps(id)["Environment"].(map[string]any)
		v, _ := e["Variables"].(map[string]any)
		if fmt.Sprint(v["RECORDING_RETENTION_DAYS"]) != fmt.Sprint(s.paramDefault("RecordingRetentionDays")) {
			errs = append(errs, fmt.Errorf("%s: RECORDING_RETENTION_DAYS is %v, want a Ref to RecordingRetentionDays (links last as long as recordings)", id, v["RECORDING_RETENTION_DAYS"]))
		}
	}
	return errors.Join(errs...)
}

// checkEventOutputs: what the provisioning CLI and the dead-letters command
// read from the stack.
func checkEventOutputs(s *stack) error {
	var errs []error
	base := "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
	for name, want := range map[string]string{
		"CallStatusUrl": base + httpapi.PathCallStatus, "EventsQueueUrl": "EventsQueue", "EventsDeadLetterQueueUrl": "EventsDeadLetterQueue",
		"RecordingsBucketName": "RecordingsBucket", "RecordingLinkKeySecret": "RecordingLinkKey",
	} {
		o, ok := s.tmpl.Outputs[name]
		if !ok {
			errs = append(errs, fmt.Errorf("no output %s", name))
			continue
		}
		if v, _ := o.Value.(string); v != want {
			errs = append(errs, fmt.Errorf("output %s = %q, want %q", name, v, want))
		}
	}
	return errors.Join(errs...)
}
