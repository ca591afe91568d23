// The product's well-known names: API group, annotation keys, label keys and the field manager.
// One place, so the operator, its tools, the chart and the tests cannot drift apart.
#pragma once

namespace okami::names {

inline constexpr const char* kGroup = "okami.io";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "okami.io/v1alpha1";
inline constexpr const char* kFieldManager = "okami-operator";

// Annotations a person sets to approve an act.
inline constexpr const char* kVerifiedBackupAnnotation = "okami.io/verified-backup";
inline constexpr const char* kResetMemoriesAnnotation = "okami.io/reset-memories";
inline constexpr const char* kRetryAtAnnotation = "okami.io/retry-at";
// Annotation the operator writes on the Chroma data PVC.
inline constexpr const char* kDataFormatAnnotation = "okami.io/chroma-data-format";
// The value of kDataFormatAnnotation on a volume known to hold no Chroma data: created by the
// operator, or read empty by the data-format probe. A volume without the annotation is unknown.
inline constexpr const char* kDataFormatEmpty = "empty";
// Annotation the operator writes on the client storage PVC once a memory reset ran: its token.
inline constexpr const char* kMemoriesResetAnnotation = "okami.io/memories-reset";

// Labels on every child object.
inline constexpr const char* kLabelName = "app.kubernetes.io/name";
inline constexpr const char* kLabelInstance = "app.kubernetes.io/instance";
inline constexpr const char* kLabelComponent = "app.kubernetes.io/component";
inline constexpr const char* kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kLabelPartOf = "app.kubernetes.io/part-of";
inline constexpr const char* kLabelVersion = "app.kubernetes.io/version";
inline constexpr const char* kLabelStack = "okami.io/stack";

}  // namespace okami::names
