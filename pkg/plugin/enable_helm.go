package plugin

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// warnHelm warns that a Helm upgrade would undo a hand-written annotation on a chart's
// service account, with the values line that makes the chart write it.
func (o *identityOptions) warnHelm(a *annotate.Account) {
	if a.SA == nil || len(a.Changes) == 0 {
		return
	}
	// A chart the registry knows, recognised by the account's name, release or chart, keeps
	// the annotations under its own values key.
	if chart, how := o.targetRegistry().Chart(a.SA); chart != nil {
		o.warnChart(a, chart, how)
		return
	}
	if !helmManaged(a.SA) {
		return
	}
	release := a.SA.Annotations["meta.helm.sh/release-name"]
	if release == "" {
		release = "(unknown)"
	}
	if o.want == nil {
		fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is managed by Helm release %s; remove the eks.amazonaws.com/ annotations from the chart's values too, or the next helm upgrade puts them back\n", a.Name, release)
		return
	}
	var sets []string
	for _, k := range identity.ChangedKeys(a.Changes) {
		if v := a.Changes[k]; v != nil {
			sets = append(sets, fmt.Sprintf("--set-string 'serviceAccount.annotations.%s=%s'", strings.ReplaceAll(k, ".", `\.`), *v))
		}
	}
	fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is managed by Helm release %s; the next helm upgrade drops annotations the chart does not set. Set them in the chart's values (the key depends on the chart), e.g.: helm upgrade %s ... %s\n",
		a.Name, release, release, strings.Join(sets, " "))
}

// helmManaged is true for a service account a Helm release owns.
func helmManaged(sa *corev1.ServiceAccount) bool {
	return sa.Labels["app.kubernetes.io/managed-by"] == "Helm" || sa.Annotations["meta.helm.sh/release-name"] != ""
}

// warnChart warns about the service account of a chart the registry knows (Upbound Spaces'
// mxp-controller): its annotations live under another values key than serviceAccount.annotations,
// so the warning prints the exact --set line, and says how the chart was recognised.
func (o *identityOptions) warnChart(a *annotate.Account, chart *targets.Chart, how string) {
	what := chart.Product
	if chart.Component != "" {
		what += "' " + chart.Component
	}
	upgrade := chart.Upgrade
	if upgrade == "" {
		upgrade = "the chart's values (helm upgrade --reuse-values ...)"
	}
	if o.want == nil {
		fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is %s (recognised by %s); remove the eks.amazonaws.com/ annotations from %s in %s too, or the next upgrade puts them back\n",
			a.Name, what, how, chart.Values, upgrade)
		return
	}
	var sets []string
	for _, k := range identity.ChangedKeys(a.Changes) {
		if v := a.Changes[k]; v != nil {
			sets = append(sets, helmSet(chart.Values, k, *v))
		}
	}
	fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is %s (recognised by %s); the next upgrade drops annotations its values do not set. Set them in %s:\n  %s\n",
		a.Name, what, how, upgrade, strings.Join(sets, " "))
}

// helmSet is the --set flag that makes a chart write annotation key=value under the values
// key path: --set path."eks\.amazonaws\.com/role-arn"=VALUE. The shell removes the double
// quotes and keeps the backslashes, which tell Helm the dots are part of the key. A value Helm
// would read as a number or a boolean goes through --set-string, as annotations are strings.
func helmSet(path, key, value string) string {
	flag := "--set"
	switch value {
	case "true", "false":
		flag = "--set-string"
	default:
		if strings.Trim(value, "0123456789") == "" {
			flag = "--set-string"
		}
	}
	return fmt.Sprintf(`%s %s."%s"=%s`, flag, path, strings.ReplaceAll(key, ".", `\.`), value)
}
