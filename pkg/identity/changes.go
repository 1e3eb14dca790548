package identity

import (
	"sort"
	"strconv"
)

// AnnotationChanges returns what must change in a service account's annotations so that they
// ask for want (want nil: no identity at all): each key maps to its new value, or to nil when
// the annotation must be removed. Only identity annotations appear. An empty result means the
// annotations already ask for want, so enable and disable can be idempotent.
//
// A value that already means what want asks is left alone even when enable would not write it
// (an explicit audience sts.amazonaws.com, token-expiration 86400, sts-regional-endpoints
// false), so a chart that sets defaults explicitly is not fought over.
func AnnotationChanges(annotations map[string]string, want *Config) map[string]*string {
	changes := map[string]*string{}
	if want == nil {
		for _, key := range IdentityAnnotations {
			if _, ok := annotations[key]; ok {
				changes[key] = nil
			}
		}
		return changes
	}
	wanted := want.Annotations()
	for _, key := range IdentityAnnotations {
		have, present := annotations[key]
		value, set := wanted[key]
		switch {
		case set && (!present || !sameValue(key, have, value)):
			changes[key] = &value
		case !set && present && !isDefault(key, have):
			changes[key] = nil
		}
	}
	return changes
}

// ChangedKeys lists the keys of changes in IdentityAnnotations order.
func ChangedKeys(changes map[string]*string) []string {
	order := map[string]int{}
	for i, k := range IdentityAnnotations {
		order[k] = i
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return order[keys[i]] < order[keys[j]] })
	return keys
}

// sameValue is true when have means the same as want for key: the same text, or for the
// expiration the same number of seconds.
func sameValue(key, have, want string) bool {
	if have == want {
		return true
	}
	if key == AnnotationTokenExpiration {
		h, err1 := strconv.ParseInt(have, 10, 64)
		w, err2 := strconv.ParseInt(want, 10, 64)
		return err1 == nil && err2 == nil && h == w
	}
	return false
}

// isDefault is true when an annotation that Config.Annotations would not write states the
// webhook's default explicitly.
func isDefault(key, have string) bool {
	switch key {
	case AnnotationAudience:
		return have == DefaultAudience
	case AnnotationTokenExpiration:
		v, err := strconv.ParseInt(have, 10, 64)
		return err == nil && v == DefaultTokenExpiration
	case AnnotationSTSRegional:
		return have == "false"
	}
	return false
}
