@echo off
rem Shell completion of `kubectl wi` through kubectl (v1.26 and later): see kubectl_complete-wi.
kubectl wi __complete %*
