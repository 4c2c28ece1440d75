/* The schema table: one description of the spec language that drives validation
 * (spec_validate.c), defaults and `netspec resolve` (spec_resolve.c), `netspec schema`
 * (spec_jsonschema.c) and the key list the man page test checks.
 *
 * A section is a YAML map stored into a C struct: each field names its key, its type, where
 * it goes (offsetof), whether it is required, its default as YAML text, its range and doc.
 * A variant is a section whose valid keys depend on a tag key (`type:` or `format:`);
 * all its cases fill the same struct. Ops describe their parameters with the same tables.
 */
#ifndef SPEC_SCHEMA_H
#define SPEC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

enum schema_type {
    SCHEMA_INT,      /* int; "auto" allowed when auto_ok (stored as SPEC_AUTO) */
    SCHEMA_SEED,     /* long long, >= 0 */
    SCHEMA_SIZE,     /* long long bytes: N or "512MiB" (spec_size.h); "auto" (SPEC_AUTO) when auto_ok */
    SCHEMA_FLOAT,    /* double */
    SCHEMA_BOOL,     /* bool */
    SCHEMA_STRING,   /* const char * */
    SCHEMA_PATH,     /* const char *, relative paths resolved against the spec's folder */
    SCHEMA_ENUM,     /* int, index into names[] */
    SCHEMA_SHAPE,    /* struct spec_shape: [h, w, c] or [n]; "auto" when auto_ok */
    SCHEMA_PAIR,     /* struct spec_pair: N or [h, w] */
    SCHEMA_PADDING,  /* struct spec_padding: same | valid | N | [h, w] */
    SCHEMA_NAMES,    /* struct spec_names: a name or a list of names */
    SCHEMA_FLOATS,   /* struct spec_floats: a number or a list of numbers */
    SCHEMA_SECTION,  /* a nested map: struct at offset, described by `section` */
    SCHEMA_VARIANT,  /* a nested map whose keys depend on its tag: `variant` */
    SCHEMA_LAYERS,   /* model.layers: the op table decides each item's keys */
};

struct schema_section;
struct schema_variant;

struct schema_field {
    const char *key;
    enum schema_type type;
    size_t offset;
    bool required;
    const char *def;             /* default as YAML text; NULL = none (absent stays absent) */
    double min, max;             /* inclusive range for numbers, counts for lists; min > max = none */
    bool min_exclusive;          /* the value must be greater than min */
    bool auto_ok;                /* "auto" is a valid value */
    const char *const *names;    /* SCHEMA_ENUM: NULL-terminated */
    const struct schema_section *section;
    const struct schema_variant *variant;
    const char *doc;
};

struct schema_section {
    const char *name; /* in messages: "optimizer", "layer 3 (dense)" is built by the caller */
    const struct schema_field *fields;
    size_t field_count;
    size_t node_offset; /* where the section's struct keeps its `const struct spec_node *node` */
    bool has_node;
};

struct schema_variant {
    const char *tag_key;          /* "type" or "format" */
    const char *const *tag_names; /* NULL-terminated; the case for tag i is cases[i] */
    size_t tag_offset;            /* int in the struct */
    const char *default_tag;      /* when the section is absent or has no tag; NULL = required */
    bool scalar_ok;               /* `loss: mse` means `loss: {type: mse}` */
    const struct schema_section *const *cases;
    size_t node_offset;
};

#define SCHEMA_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SCHEMA_NO_RANGE .min = 1, .max = 0

struct ns_diag;
struct spec_layer;

/* A layer type as the spec language sees it: its name, keys and arity. Each op in ops/ starts
 * its op_def with one, and ops/ hands spec/ the list as a catalog (op_catalog()), so spec/
 * validates layers without including ops/. */
struct spec_layer_type {
    const char *name;
    const char *doc;
    const struct schema_section *param_schema; /* NULL: the layer takes no keys */
    size_t param_size;                          /* sizeof the op's parameter struct */
    const char *shorthand_key;  /* `- dropout: 0.3` fills this key; NULL = none */
    int min_inputs, max_inputs; /* max > 1: the op joins branches and needs `from:` */
    /* Validates the parameters against each other (beyond the schema's ranges). */
    bool (*check)(const void *params, const struct spec_layer *layer, struct ns_diag *diag);
};

struct spec_layer_catalog {
    const struct spec_layer_type *const *types; /* in documentation order */
    size_t count;
    const char *const *names; /* the types' names, NULL-terminated (for suggestions) */
};

/* The type called `name`; NULL when the catalog has none. */
const struct spec_layer_type *spec_layer_type_find(const struct spec_layer_catalog *catalog,
                                                   const char *name);

/* The top-level section (the whole spec). */
extern const struct schema_section spec_schema_root;
extern const char *const spec_activation_names[];
extern const char *const spec_init_names[];

/* Looks a field up by key; NULL when the section has no such key. */
const struct schema_field *schema_find(const struct schema_section *section, const char *key);
/* "a, b, c" of the section's keys (arena-free: caller frees). */
char *schema_key_list(const struct schema_section *section, const char *const *extra);
char *schema_name_list(const char *const *names);
/* Human type description for messages and docs: "an integer", "one of ...". */
const char *schema_type_name(const struct schema_field *field);

#endif
