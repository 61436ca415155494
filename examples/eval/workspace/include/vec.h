#ifndef NORTHWIND_VEC_H
#define NORTHWIND_VEC_H

/* Small 3-vector helpers used by the chart renderer. */

typedef struct vec3 {
    float x, y, z;
} vec3;

vec3 vec3_add(vec3 a, vec3 b);
vec3 vec3_scale(vec3 v, float s);
float vec3_dot(vec3 a, vec3 b);
float vec3_length(vec3 v);
vec3 vec3_normalize(vec3 v);

#endif
