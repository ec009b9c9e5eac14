package com.example.notes

import android.app.Activity

class MainActivity : Activity()
